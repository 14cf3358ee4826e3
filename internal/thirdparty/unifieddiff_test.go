package thirdparty

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// A filePatch is the unified diff of one file: its path (without the
// first path component, as patch -p1 reads it) and its hunks.
type filePatch struct {
	path  string
	hunks []hunk
}

// A hunk replaces the lines old, from line oldStart (1-based) of the
// original, with the lines new.
type hunk struct {
	oldStart int
	old, new []string
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// parseUnifiedDiff parses the output of diff -ru (or git diff): a minimal
// reader that knows files, hunks, context, removed and added lines, and
// refuses what it does not know (a missing newline at the end of a file,
// a file added or removed).
func parseUnifiedDiff(text string) ([]filePatch, error) {
	lines := strings.SplitAfter(text, "\n")
	var files []filePatch
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "--- "):
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "+++ ") {
				return nil, fmt.Errorf("line %d: --- without +++", i+1)
			}
			oldPath, err := strip1(line[4:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			p, err := strip1(lines[i+1][4:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+2, err)
			}
			if p != oldPath {
				return nil, fmt.Errorf("line %d: %s renamed to %s", i+1, oldPath, p)
			}
			files = append(files, filePatch{path: p})
			i += 2
		case strings.HasPrefix(line, "@@ "):
			if len(files) == 0 {
				return nil, fmt.Errorf("line %d: hunk before any file", i+1)
			}
			h, next, err := parseHunk(lines, i)
			if err != nil {
				return nil, err
			}
			f := &files[len(files)-1]
			f.hunks = append(f.hunks, h)
			i = next
		default: // "diff -ru a/x b/x", "index ..." and other headers
			i++
		}
	}
	return files, nil
}

// strip1 is the path of a ---/+++ line without its first component and
// any tab-separated timestamp.
func strip1(name string) (string, error) {
	name = strings.TrimRight(name, "\n")
	name, _, _ = strings.Cut(name, "\t")
	_, rest, ok := strings.Cut(name, "/")
	if !ok || rest == "" || name == "/dev/null" || strings.HasPrefix(rest, "../") {
		return "", fmt.Errorf("unsupported file name %q (files are only modified)", name)
	}
	return path.Clean(rest), nil
}

// parseHunk parses the hunk whose header is lines[i] and returns the index
// of the line after it.
func parseHunk(lines []string, i int) (hunk, int, error) {
	m := hunkHeader.FindStringSubmatch(lines[i])
	if m == nil {
		return hunk{}, 0, fmt.Errorf("line %d: bad hunk header %q", i+1, lines[i])
	}
	count := func(s string) int {
		if s == "" {
			return 1
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	oldStart, _ := strconv.Atoi(m[1])
	oldCount, newCount := count(m[2]), count(m[4])
	h := hunk{oldStart: oldStart}
	j := i + 1
	for ; j < len(lines) && (len(h.old) < oldCount || len(h.new) < newCount); j++ {
		line := lines[j]
		if line == "" || line[0] == '\\' {
			return hunk{}, 0, fmt.Errorf("line %d: unsupported line %q", j+1, line)
		}
		body := line[1:]
		switch line[0] {
		case ' ':
			h.old, h.new = append(h.old, body), append(h.new, body)
		case '-':
			h.old = append(h.old, body)
		case '+':
			h.new = append(h.new, body)
		default:
			return hunk{}, 0, fmt.Errorf("line %d: unexpected %q in a hunk", j+1, line)
		}
	}
	if len(h.old) != oldCount || len(h.new) != newCount {
		return hunk{}, 0, fmt.Errorf("line %d: hunk shorter than its header says", i+1)
	}
	return h, j, nil
}

// apply returns original with the hunks applied, each at exactly the line
// its header names (no fuzz, no offset): a hunk whose removed or context
// lines are not there is an error.
func (f filePatch) apply(original string) (string, error) {
	lines := strings.SplitAfter(original, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out []string
	next := 0 // the first original line not yet copied (0-based)
	for _, h := range f.hunks {
		start := h.oldStart - 1
		if len(h.old) == 0 {
			start = h.oldStart // an insertion after line oldStart
		}
		if start < next || start+len(h.old) > len(lines) {
			return "", fmt.Errorf("%s: hunk at line %d out of order or past the end", f.path, h.oldStart)
		}
		for k, want := range h.old {
			if lines[start+k] != want {
				return "", fmt.Errorf("%s: hunk at line %d does not match line %d: %q, want %q", f.path, h.oldStart, start+k+1, lines[start+k], want)
			}
		}
		out = append(out, lines[next:start]...)
		out = append(out, h.new...)
		next = start + len(h.old)
	}
	out = append(out, lines[next:]...)
	return strings.Join(out, ""), nil
}
