package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// scriptFile is one shell script (a setup script or any other script of
// the runtime directory) whose content the checks look at.
type scriptFile struct {
	path     string // as it appears in diagnostics
	data     []byte
	syntaxOK bool
	ds       []Diagnostic // syntax and shellcheck findings
	mu       sync.Mutex
}

func (f *scriptFile) add(d Diagnostic) {
	f.mu.Lock()
	f.ds = append(f.ds, d)
	f.mu.Unlock()
}

// checkShebang reports a missing or broken #! line; crlf says it reported
// line 1's CRLF ending.
func checkShebang(s *sink, data []byte) (crlf bool) {
	line := data
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	name := filepath.Base(s.file)
	hint := "make the first line #!/usr/bin/env bash"
	switch {
	case len(data) == 0:
		s.add(1, 1, RuleScriptShebang, name+" is empty; it needs a #! line and the setup commands", hint)
	case bytes.HasPrefix(line, []byte("\xef\xbb\xbf")):
		s.add(1, 1, RuleScriptShebang, name+" starts with a UTF-8 byte order mark, so the kernel does not see its #! line", "save the file as UTF-8 without BOM")
	case !bytes.HasPrefix(line, []byte("#!")):
		s.add(1, 1, RuleScriptShebang, name+" does not start with a #! line", hint)
	case bytes.HasSuffix(line, []byte("\r")):
		s.add(1, len(line), RuleScriptShebang, name+" has Windows (CRLF) line endings; the kernel would look for an interpreter whose name ends in a carriage return", "convert the file to LF line endings (dos2unix "+s.file+")")
		return true
	case len(bytes.TrimSpace(line[2:])) == 0:
		s.add(1, 1, RuleScriptShebang, name+" has an empty #! line", hint)
	}
	return false
}

// checkLineEndings reports lines ending in CRLF, unless the only place to
// report is line 1 and checkShebang already did (line1Reported).
func checkLineEndings(s *sink, data []byte, line1Reported bool) {
	n, first, line := 0, 0, 1
	for i := bytes.IndexByte(data, '\n'); i >= 0; i = bytes.IndexByte(data, '\n') {
		if i > 0 && data[i-1] == '\r' {
			n++
			if first == 0 {
				first = line
			}
		}
		data = data[i+1:]
		line++
	}
	if n == 0 || (first == 1 && line1Reported) {
		return
	}
	s.add(first, 0, RuleScriptLineEndings,
		fmt.Sprintf("%s has Windows (CRLF) line endings (%d %s, the first at line %d); bash reads each carriage return as part of its line, so then\\r is no keyword and arguments end in \\r",
			filepath.Base(s.file), n, map[bool]string{true: "line", false: "lines"}[n == 1], first),
		"convert the file to LF line endings (dos2unix "+s.file+")")
}

// shellShebang reads a #! line: has says data starts with one (after a
// UTF-8 byte order mark), shell that it names sh, bash or dash (directly
// or through env).
func shellShebang(data []byte) (has, shell bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(data, []byte("#!")) {
		return false, false
	}
	line := data[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(strings.TrimRight(string(line), "\r"))
	if len(f) == 0 {
		return true, false
	}
	prog := filepath.Base(f[0])
	if prog == "env" {
		for _, a := range f[1:] {
			if !strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
				prog = filepath.Base(a)
				break
			}
		}
	}
	switch prog {
	case "sh", "bash", "dash":
		return true, true
	}
	return true, false
}

// otherScripts finds the shell scripts under dir besides the setup scripts
// (top-level names in setup): files named *.sh (unless their #! line names
// another interpreter) and files whose #! line names sh, bash or dash, in
// any subdirectory but dot-directories. Symlinks are not followed.
func otherScripts(dir string, setup map[string]os.FileInfo) ([]*scriptFile, error) {
	var out []*scriptFile
	head := make([]byte, 256)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, ok := setup[d.Name()]; ok && filepath.Dir(p) == filepath.Clean(dir) {
			return nil
		}
		sh := strings.HasSuffix(d.Name(), ".sh")
		if !sh {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, _ := io.ReadFull(f, head)
			f.Close()
			if _, shell := shellShebang(head[:n]); !shell {
				return nil
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if has, shell := shellShebang(data); sh && has && !shell && len(bytes.TrimSpace(firstLine(data)[2:])) > 0 {
			return nil // foo.sh with #!/usr/bin/env python3
		}
		out = append(out, &scriptFile{path: p, data: data})
		return nil
	})
	return out, err
}

func firstLine(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i]
	}
	return data
}

// gitIndex holds the modes of the files git tracks under base.
type gitIndex struct {
	base  string
	modes map[string]string // slash path relative to base -> "100755"
}

// readGitIndex lists tracked files under dir with git ls-files -s. It returns
// nil when dir is not inside a git work tree or git is not installed: the
// executable check then looks at the file mode on disk.
func readGitIndex(ctx context.Context, dir string) *gitIndex {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, git, "-C", dir, "ls-files", "-s", "-z", "--", ".")
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	idx := &gitIndex{base: dir, modes: map[string]string{}}
	for _, rec := range bytes.Split(out, []byte{0}) {
		tab := bytes.IndexByte(rec, '\t')
		if tab < 0 {
			continue
		}
		meta := strings.Fields(string(rec[:tab]))
		if len(meta) < 1 {
			continue
		}
		idx.modes[string(rec[tab+1:])] = meta[0]
	}
	return idx
}

// mode returns the git index mode of path, if git tracks it.
func (g *gitIndex) mode(path string) (string, bool) {
	if g == nil {
		return "", false
	}
	rel, err := filepath.Rel(g.base, path)
	if err != nil {
		return "", false
	}
	m, ok := g.modes[filepath.ToSlash(rel)]
	return m, ok
}

// checkExecutable reports a script that is not executable: in the git index
// when git tracks it (that is what a clone gets), else on disk.
func checkExecutable(s *sink, idx *gitIndex, info os.FileInfo) {
	name := filepath.Base(s.file)
	if mode, ok := idx.mode(s.file); ok {
		if mode != "100755" && mode != "120000" {
			s.add(1, 1, RuleScriptExecutable, fmt.Sprintf("%s is not executable in git (index mode %s)", name, mode),
				"run git update-index --chmod=+x "+s.file+" (or chmod +x and git add it)")
		}
		return
	}
	if info.Mode().Perm()&0o111 == 0 {
		s.add(1, 1, RuleScriptExecutable, fmt.Sprintf("%s is not executable (mode %04o)", name, info.Mode().Perm()),
			"run chmod +x "+s.file)
	}
}

// syntaxChecker runs bash -n. To avoid one process per script, it first
// parses a whole batch of scripts in one bash process, each wrapped in a
// function body (see batchParses); only when a batch reports anything does
// it split the batch in halves, down to bash -n on single files, so every
// reported error carries the file's own line numbers and bash's own
// message. A script containing a NUL byte is always checked on its own.
type syntaxChecker struct {
	bash string
}

// check runs the syntax check on every script, with at most conc bash
// processes at a time.
func (c *syntaxChecker) check(ctx context.Context, files []*scriptFile, conc int) error {
	var batched, single []*scriptFile
	for _, f := range files {
		if bytes.IndexByte(f.data, 0) >= 0 {
			single = append(single, f)
		} else {
			batched = append(batched, f)
		}
	}
	var jobs [][]*scriptFile
	if n := min(conc, len(batched)); n > 0 {
		for i := range n {
			jobs = append(jobs, batched[i*len(batched)/n:(i+1)*len(batched)/n])
		}
	}
	for _, f := range single {
		jobs = append(jobs, []*scriptFile{f})
	}
	return parallel(ctx, len(jobs), conc, func(i int) error { return c.batch(ctx, jobs[i]) })
}

func (c *syntaxChecker) batch(ctx context.Context, files []*scriptFile) error {
	switch len(files) {
	case 0:
		return nil
	case 1:
		return c.one(ctx, files[0])
	}
	ok, err := c.batchParses(ctx, files)
	if err != nil {
		return err
	}
	if ok {
		for _, f := range files {
			f.syntaxOK = true
		}
		return nil
	}
	mid := len(files) / 2
	if err := c.batch(ctx, files[:mid]); err != nil {
		return err
	}
	return c.batch(ctx, files[mid:])
}

// batchParses reports whether bash -n accepts every file of the batch. It
// parses the batch twice: once with each script as the body of a function
// "{ ... }" in order, once as the body of a subshell function "( ... )" in
// reverse order. A script that does not parse on its own can close one
// wrapper early and reopen it (a stray "}" followed by a "{", or a
// here-document left open at its end that swallows the next script), but
// not both kinds of wrapper in both orders; bash must accept both passes
// without a word on stderr.
func (c *syntaxChecker) batchParses(ctx context.Context, files []*scriptFile) (bool, error) {
	var brace, paren bytes.Buffer
	for i, f := range files {
		fmt.Fprintf(&brace, "__rtool_syntax_check_%d() {\n:\n", i)
		brace.Write(f.data)
		brace.WriteString("\n:\n}\n")
	}
	for i := len(files) - 1; i >= 0; i-- {
		fmt.Fprintf(&paren, "__rtool_syntax_check_%d() (\n:\n", i)
		paren.Write(files[i].data)
		paren.WriteString("\n:\n)\n")
	}
	for _, text := range [][]byte{brace.Bytes(), paren.Bytes()} {
		ok, err := c.parses(ctx, text)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// parses runs bash -n on text (through a temporary file: bash reads a pipe
// one byte at a time) and reports whether it passed silently.
func (c *syntaxChecker) parses(ctx context.Context, text []byte) (bool, error) {
	tmp, err := os.CreateTemp("", "rtool-syntax-*.sh")
	if err != nil {
		return false, fmt.Errorf("script syntax check: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(text)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return false, fmt.Errorf("script syntax check: write %s: %w", tmp.Name(), werr)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bash, "-n", tmp.Name())
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return false, fmt.Errorf("script syntax check: run %s -n: %w", c.bash, err)
	}
	return err == nil && stderr.Len() == 0, nil
}

var bashLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// one runs bash -n on a single script and records its first error.
func (c *syntaxChecker) one(ctx context.Context, f *scriptFile) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bash, "-n", f.path)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		f.syntaxOK = true
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return fmt.Errorf("script syntax check: run %s -n %s: %w", c.bash, f.path, err)
	}
	line, msg := 1, strings.TrimSpace(strings.ReplaceAll(stderr.String(), f.path+": ", ""))
	for _, l := range strings.Split(stderr.String(), "\n") {
		l = strings.TrimPrefix(l, f.path+": ")
		if m := bashLineRE.FindStringSubmatch(l); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			break
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("bash -n exited with status %d", exitErr.ExitCode())
	}
	f.add(Diagnostic{File: f.path, Line: line, Rule: RuleScriptSyntax, Severity: severityOf(RuleScriptSyntax),
		Message: "bash -n: " + msg,
		Hint:    fmt.Sprintf("look for an unclosed quote, if, loop or bracket at or before line %d; bash -n %s repeats the check", line, f.path)})
	return nil
}

// shellcheckBatch is how many files one shellcheck process checks.
const shellcheckBatch = 32

type shellcheckComment struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Level   string `json:"level"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// runShellcheck checks files in batches of shellcheckBatch with at most conc
// shellcheck processes at a time and records every comment as a warning.
func runShellcheck(ctx context.Context, shellcheck, severity string, files []*scriptFile, conc int) error {
	byPath := map[string]*scriptFile{}
	var paths []string
	for _, f := range files {
		byPath[f.path] = f
		paths = append(paths, f.path)
	}
	var jobs [][]string
	for len(paths) > 0 {
		n := min(shellcheckBatch, len(paths))
		jobs, paths = append(jobs, paths[:n]), paths[n:]
	}
	return parallel(ctx, len(jobs), conc, func(i int) error {
		args := append([]string{"-f", "json1", "-S", severity, "--"}, jobs[i]...)
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, shellcheck, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var exitErr *exec.ExitError
		if err != nil && !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1) {
			return fmt.Errorf("shellcheck: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		var out struct {
			Comments []shellcheckComment `json:"comments"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			return fmt.Errorf("shellcheck: read json1 output: %w", err)
		}
		for _, c := range out.Comments {
			f := byPath[c.File]
			if f == nil {
				continue
			}
			f.add(Diagnostic{File: f.path, Line: c.Line, Column: c.Column, Rule: RuleScriptShellcheck, Severity: severityOf(RuleScriptShellcheck),
				Message: fmt.Sprintf("shellcheck SC%d (%s): %s", c.Code, c.Level, c.Message),
				Hint:    fmt.Sprintf("see https://www.shellcheck.net/wiki/SC%d", c.Code)})
		}
		return nil
	})
}

// parallel runs fn(0..n-1) with at most conc calls at a time and returns the
// first error; after an error no new calls start.
func parallel(ctx context.Context, n, conc int, fn func(i int) error) error {
	if conc < 1 {
		conc = 1
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     int
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next >= n || ctx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
