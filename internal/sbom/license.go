package sbom

import (
	"regexp"
	"sort"
	"strings"
)

// NoAssertion is SPDX's "nothing is said about this".
const NoAssertion = "NOASSERTION"

// debianLicenses maps Debian's short licence names (DEP-5 and common
// variants; lower case) to SPDX identifiers. The GNU licences are handled by
// gnuLicense.
var debianLicenses = map[string]string{
	"apache-2":            "Apache-2.0",
	"apache-2.0":          "Apache-2.0",
	"artistic":            "Artistic-1.0-Perl",
	"artistic-1.0":        "Artistic-1.0",
	"artistic-2.0":        "Artistic-2.0",
	"beerware":            "Beerware",
	"bsd-2-clause":        "BSD-2-Clause",
	"bsd-3-clause":        "BSD-3-Clause",
	"bsd-4-clause":        "BSD-4-Clause",
	"bsd-4-clause-uc":     "BSD-4-Clause-UC",
	"bsl-1.0":             "BSL-1.0",
	"cc-by-3.0":           "CC-BY-3.0",
	"cc-by-4.0":           "CC-BY-4.0",
	"cc-by-sa-3.0":        "CC-BY-SA-3.0",
	"cc-by-sa-4.0":        "CC-BY-SA-4.0",
	"cc0":                 "CC0-1.0",
	"cc0-1.0":             "CC0-1.0",
	"cddl-1.0":            "CDDL-1.0",
	"curl":                "curl",
	"epl-1.0":             "EPL-1.0",
	"epl-2.0":             "EPL-2.0",
	"expat":               "MIT",
	"fsfap":               "FSFAP",
	"fsful":               "FSFUL",
	"fsfullr":             "FSFULLR",
	"isc":                 "ISC",
	"latex2e":             "Latex2e",
	"lppl-1.3c":           "LPPL-1.3c",
	"mit":                 "MIT",
	"mpl-1.1":             "MPL-1.1",
	"mpl-2.0":             "MPL-2.0",
	"ofl-1.1":             "OFL-1.1",
	"openssl":             "OpenSSL",
	"perl":                "Artistic-1.0-Perl OR GPL-1.0-or-later",
	"psf-2":               "PSF-2.0",
	"psf-2.0":             "PSF-2.0",
	"python-2.0":          "Python-2.0",
	"sleepycat":           "Sleepycat",
	"unlicense":           "Unlicense",
	"w3c":                 "W3C",
	"wtfpl":               "WTFPL",
	"x11":                 "X11",
	"zlib":                "Zlib",
	"zpl-2.1":             "ZPL-2.1",
	"gfdl-1.2":            "GFDL-1.2-only",
	"gfdl-1.2+":           "GFDL-1.2-or-later",
	"gfdl-1.3":            "GFDL-1.3-only",
	"gfdl-1.3+":           "GFDL-1.3-or-later",
	"gfdl-niv-1.3":        "GFDL-1.3-no-invariants-only",
	"gfdl-niv-1.3+":       "GFDL-1.3-no-invariants-or-later",
	"gfdl-niv-1.2":        "GFDL-1.2-no-invariants-only",
	"gfdl-niv-1.2+":       "GFDL-1.2-no-invariants-or-later",
	"unicode-dfs-2016":    "Unicode-DFS-2016",
	"unicode-3.0":         "Unicode-3.0",
	"apache-2.0+":         "Apache-2.0",
	"mit-0":               "MIT-0",
	"0bsd":                "0BSD",
	"bsd-2-clause-patent": "BSD-2-Clause-Patent",
}

// exceptions maps the X of Debian's "LICENCE with X exception" to an SPDX
// exception identifier, per licence family where it differs.
var exceptions = map[string]string{
	"autoconf-gpl-2":      "Autoconf-exception-2.0",
	"autoconf-gpl-3":      "Autoconf-exception-3.0",
	"bison":               "Bison-exception-2.2",
	"gcc-gpl-2":           "GCC-exception-2.0",
	"gcc-gpl-3":           "GCC-exception-3.1",
	"gcc-runtime-library": "GCC-exception-3.1",
	"linux-syscall-note":  "Linux-syscall-note",
	"libtool":             "Libtool-exception",
	"classpath":           "Classpath-exception-2.0",
	"font":                "Font-exception-2.0",
}

var (
	gnuRE       = regexp.MustCompile(`^(a|l)?gpl-?v?([123])(?:\.([01]))?(\+|-or-later|-only)?$`)
	withRE      = regexp.MustCompile(`^(.+?)\s+with\s+(.+?)\s+exception$`)
	spdxIDRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*\+?$`)
	refCharsRE  = regexp.MustCompile(`[^A-Za-z0-9.-]+`)
	debOpRE     = regexp.MustCompile(`\s+(or|and)\s+`)
	spdxTokenRE = regexp.MustCompile(`\(|\)|[^\s()]+`)
)

// gnuLicense maps GPL-2, GPL-2+, GPLv3+, LGPL-2.1+, AGPL-3 ... to SPDX.
// LGPL-2 is LGPL-2.0; an unversioned GPL or LGPL is not mapped.
func gnuLicense(s string) (string, bool) {
	m := gnuRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	family := map[string]string{"": "GPL", "l": "LGPL", "a": "AGPL"}[m[1]]
	minor := m[3]
	if minor == "" {
		minor = "0"
	}
	if m[2] == "2" && minor == "1" && family != "LGPL" {
		return "", false // there is no GPL-2.1
	}
	if minor == "1" && m[2] != "2" {
		return "", false
	}
	if family == "AGPL" && m[2] != "3" || family == "LGPL" && m[2] == "1" {
		return "", false
	}
	suffix := "-only"
	if m[4] == "+" || m[4] == "-or-later" {
		suffix = "-or-later"
	}
	return family + "-" + m[2] + "." + minor + suffix, true
}

// refs collects the LicenseRef-... identifiers an expression needed, with
// the name they stand for.
type refs map[string]string

// ref returns the LicenseRef for a name SPDX has no identifier for.
func (r refs) ref(name string) string {
	id := "LicenseRef-" + strings.Trim(refCharsRE.ReplaceAllString(name, "-"), "-")
	if id == "LicenseRef-" {
		id = "LicenseRef-unnamed"
	}
	if r != nil {
		r[id] = name
	}
	return id
}

// debianTerm maps one licence name (perhaps "X with Y exception") to SPDX.
func debianTerm(name string, r refs) string {
	name = strings.TrimSpace(name)
	low := strings.ToLower(name)
	if id, ok := debianLicenses[low]; ok {
		return id
	}
	if id, ok := gnuLicense(low); ok {
		return id
	}
	if m := withRE.FindStringSubmatch(low); m != nil {
		lic, ok := debianLicenses[m[1]]
		if !ok {
			lic, ok = gnuLicense(m[1])
		}
		exc := strings.ReplaceAll(strings.TrimSpace(m[2]), " ", "-")
		id, known := exceptions[exc]
		if !known && strings.HasPrefix(lic, "GPL-") {
			id, known = exceptions[exc+"-gpl-"+lic[4:5]]
		}
		if ok && known {
			return lic + " WITH " + id
		}
	}
	return r.ref(name)
}

// debianExpression turns the first line of a DEP-5 License field ("GPL-2+",
// "GPL-1+ or Artistic", "GPL-3+ with Bison exception", "BSD-3-clause, and
// MIT") into an SPDX licence expression. Names SPDX has no identifier for
// become LicenseRef-<name>, recorded in r.
func debianExpression(field string, r refs) string {
	var ands []string
	for _, group := range strings.Split(field, ",") {
		group = strings.TrimSpace(group)
		group = strings.TrimPrefix(strings.TrimPrefix(group, "and "), "or ")
		if group == "" {
			continue
		}
		// within a group: "a or b and c", and binds tighter than or
		var ors []string
		for _, alt := range splitOp(group, "or") {
			var terms []string
			for _, t := range splitOp(alt, "and") {
				terms = append(terms, paren(debianTerm(t, r)))
			}
			ors = append(ors, strings.Join(terms, " AND "))
		}
		if len(ors) > 1 {
			for i := range ors {
				ors[i] = paren(ors[i])
			}
		}
		if len(ors) == 1 {
			ands = append(ands, ors[0])
		} else {
			ands = append(ands, "("+strings.Join(ors, " OR ")+")")
		}
	}
	switch len(ands) {
	case 0:
		return NoAssertion
	case 1:
		return strings.TrimSuffix(strings.TrimPrefix(ands[0], "("), ")")
	}
	return strings.Join(ands, " AND ")
}

// splitOp splits s at the word op ("or", "and") surrounded by spaces,
// without regard to case, except inside "with ... exception".
func splitOp(s, op string) []string {
	var out []string
	last := 0
	for _, m := range debOpRE.FindAllStringSubmatchIndex(s, -1) {
		if !strings.EqualFold(s[m[2]:m[3]], op) {
			continue
		}
		out = append(out, s[last:m[0]])
		last = m[1]
	}
	return append(out, s[last:])
}

// paren wraps a compound expression in parentheses.
func paren(expr string) string {
	if strings.Contains(expr, " OR ") || strings.Contains(expr, " AND ") {
		return "(" + expr + ")"
	}
	return expr
}

// allOf joins expressions with AND, each distinct one once, sorted;
// NoAssertion when there are none.
func allOf(exprs []string) string {
	set := map[string]bool{}
	for _, e := range exprs {
		if e != "" && e != NoAssertion {
			set[paren(e)] = true
		}
	}
	if len(set) == 0 {
		return NoAssertion
	}
	list := make([]string, 0, len(set))
	for e := range set {
		list = append(list, e)
	}
	sort.Strings(list)
	if len(list) == 1 {
		return strings.TrimSuffix(strings.TrimPrefix(list[0], "("), ")")
	}
	return strings.Join(list, " AND ")
}

// expression keeps s when it reads as an SPDX licence expression (ids,
// LicenseRef-..., AND/OR/WITH, parentheses; as npm and PEP 639 require),
// with Debian short names in it (Expat, GPL-2+) mapped to SPDX, and
// otherwise maps it as one licence name (a known short name, or a
// LicenseRef). An empty s is NoAssertion.
func expression(s string, r refs) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "UNKNOWN") || strings.EqualFold(s, NoAssertion) {
		return NoAssertion
	}
	if e, ok := spdxExpression(s, r); ok {
		return e
	}
	return debianTerm(s, r)
}

// spdxExpression checks the shape of an SPDX expression and maps its
// licence operands (not exceptions) through debianTerm when they are known
// short names.
func spdxExpression(s string, r refs) (string, bool) {
	depth := 0
	operand, with := false, false // the previous token was an operand; WITH
	var out []string
	for _, t := range spdxTokenRE.FindAllString(s, -1) {
		switch {
		case t == "(":
			if operand {
				return "", false
			}
			depth++
		case t == ")":
			if !operand || depth == 0 {
				return "", false
			}
			depth--
		case t == "AND" || t == "OR" || t == "WITH":
			if !operand {
				return "", false
			}
			operand, with = false, t == "WITH"
		default:
			if operand || !spdxIDRE.MatchString(t) {
				return "", false
			}
			low := strings.ToLower(t)
			_, known := debianLicenses[low]
			_, gnu := gnuLicense(low)
			switch {
			case with:
			case known || gnu:
				t = paren(debianTerm(t, r))
			case !plausibleID(t):
				t = r.ref(t)
			}
			operand, with = true, false
		}
		out = append(out, t)
	}
	if !operand || depth != 0 {
		return "", false
	}
	e := strings.Join(out, " ")
	e = strings.ReplaceAll(strings.ReplaceAll(e, "( ", "("), " )", ")")
	return e, true
}

// knownIDs are the SPDX identifiers debianLicenses maps to.
var knownIDs = func() map[string]bool {
	m := map[string]bool{}
	for _, id := range debianLicenses {
		m[id] = true
	}
	return m
}()

// plausibleID tells an SPDX identifier this package does not list from a
// bare word such as "BSD" or "GPL": identifiers without a version number
// are few (MIT, ISC, Zlib, ...) and listed.
func plausibleID(t string) bool {
	return knownIDs[t] || strings.HasPrefix(t, "LicenseRef-") || strings.HasPrefix(t, "DocumentRef-") ||
		strings.ContainsAny(t, "0123456789")
}
