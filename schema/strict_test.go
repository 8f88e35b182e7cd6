package schema

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// enumerate calls f with every string of length 0..max over alphabet.
func enumerate(alphabet []string, max int, f func(string)) {
	var rec func(prefix string, n int)
	rec = func(prefix string, n int) {
		f(prefix)
		if n == max {
			return
		}
		for _, a := range alphabet {
			rec(prefix+a, n+1)
		}
	}
	rec("", 0)
}

// TestNameStrictPatternIsCheckName: the schemas' name pattern accepts
// exactly what CheckName accepts, on every string of up to 7 characters
// over the characters the rules treat differently, and at the length limit.
func TestNameStrictPatternIsCheckName(t *testing.T) {
	re := regexp.MustCompile(NameStrictPattern)
	n := 0
	enumerate([]string{"a", "0", "-", ".", "_", "A", " "}, 7, func(s string) {
		n++
		if got, want := re.MatchString(s), CheckName(s) == nil; got != want {
			t.Errorf("%q: pattern %v, CheckName ok %v", s, got, want)
		}
	})
	long := strings.Repeat("a", MaxNameLength+1)
	if CheckName(long) == nil || CheckName(long[1:]) != nil {
		t.Errorf("length limit %d not applied", MaxNameLength)
	}
	t.Logf("%d names compared", n)
}

// TestDurationPatternIsParseDuration: DurationPattern plus a non-zero
// digit accept exactly the positive durations time.ParseDuration reads.
// Not compared: fractions of a nanosecond (".1ns" reads as 0, which the
// pattern cannot know).
func TestDurationPatternIsParseDuration(t *testing.T) {
	re := regexp.MustCompile(DurationPattern)
	digit := regexp.MustCompile(PositiveDurationDigitPattern)
	n := 0
	enumerate([]string{"0", "1", ".", "m", "s", "n", "µ", "h", "-", "+", "x"}, 5, func(s string) {
		if strings.Contains(s, ".") && strings.Contains(s, "ns") {
			return
		}
		n++
		d, err := time.ParseDuration(s)
		want := err == nil && d > 0
		if got := re.MatchString(s) && digit.MatchString(s); got != want {
			t.Errorf("%q: pattern %v, ParseDuration %v %v", s, got, d, err)
		}
	})
	t.Logf("%d durations compared", n)
}

// TestPlatformNamesAreParsePlatform: the schema's platform enum and
// ParsePlatform's pattern come from the same os and arch lists.
func TestPlatformNamesAreParsePlatform(t *testing.T) {
	if want := "^(" + strings.Join(KnownOS, "|") + ")-(" + strings.Join(KnownArch, "|") + ")$"; PlatformPattern != want {
		t.Fatalf("PlatformPattern %s is not built from KnownOS and KnownArch (%s)", PlatformPattern, want)
	}
	names := PlatformNames()
	if len(names) != len(KnownOS)*len(KnownArch) {
		t.Fatalf("PlatformNames = %v", names)
	}
	for _, p := range names {
		if _, err := ParsePlatform(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestBaseNamePatternIsCheckBaseName: the schema's build.base rule
// (BaseNamePattern, not "default") accepts exactly what CheckBaseName
// accepts, on every short string over the characters the rule treats
// differently, and at the length limit.
func TestBaseNamePatternIsCheckBaseName(t *testing.T) {
	re := regexp.MustCompile(BaseNamePattern)
	n := 0
	enumerate([]string{"a", "t", "0", "-", "A", "_"}, 5, func(s string) {
		n++
		if got, want := re.MatchString(s) && s != DefaultBaseName, CheckBaseName(s) == nil; got != want {
			t.Errorf("%q: pattern %v, CheckBaseName ok %v", s, got, want)
		}
	})
	if CheckBaseName(DefaultBaseName) == nil {
		t.Error(`"default" is accepted`)
	}
	long := "a" + strings.Repeat("b", MaxBaseNameLength)
	if CheckBaseName(long) == nil || CheckBaseName(long[1:]) != nil || re.MatchString(long) || !re.MatchString(long[1:]) {
		t.Errorf("length limit %d not applied", MaxBaseNameLength)
	}
	t.Logf("%d names compared", n)
}

func TestCheckBaseNameMessages(t *testing.T) {
	tests := []struct{ name, want string }{
		{"trixie", ""},
		{"debian13", ""},
		{"", "is empty; name a base such as trixie"},
		{"default", `"default" is reserved for the platform's default base (rtool.yaml's bases)`},
		{"Trixie", `"Trixie" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie; use "trixie"`},
		{"trixie-backports", `"trixie-backports" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie`},
		{"13", `"13" is not a base name: a lowercase word of letters and digits starting with a letter, such as trixie`},
		{strings.Repeat("x", 33), `"` + strings.Repeat("x", 33) + `" is longer than 32 characters`},
	}
	for _, tt := range tests {
		err := CheckBaseName(tt.name)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckBaseName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
