package thirdparty

import "testing"

// The diff reader and applier on their own.
func TestApplyUnifiedDiff(t *testing.T) {
	const original = "a\nb\nc\nd\ne\nf\ng\n"
	for _, tc := range []struct {
		name, diff, want string
		wantErr          bool
	}{
		{
			name: "replace-and-insert",
			diff: "--- a/x.go\t2026-01-01\n+++ b/x.go\t2026-01-02\n" +
				"@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n" +
				"@@ -5,2 +5,4 @@\n e\n+e2\n+e3\n f\n",
			want: "a\nB\nc\nd\ne\ne2\ne3\nf\ng\n",
		},
		{
			name: "delete",
			diff: "diff -ru a/x.go b/x.go\n--- a/x.go\n+++ b/x.go\n@@ -6,2 +6 @@\n f\n-g\n",
			want: "a\nb\nc\nd\ne\nf\n",
		},
		{
			name:    "context-mismatch",
			diff:    "--- a/x.go\n+++ b/x.go\n@@ -2,2 +2,2 @@\n x\n-c\n+C\n",
			wantErr: true,
		},
		{
			name:    "wrong-line",
			diff:    "--- a/x.go\n+++ b/x.go\n@@ -3,1 +3,1 @@\n-b\n+B\n",
			wantErr: true,
		},
		{
			name:    "past-the-end",
			diff:    "--- a/x.go\n+++ b/x.go\n@@ -7,2 +7,2 @@\n g\n-h\n+H\n",
			wantErr: true,
		},
		{
			name:    "truncated-hunk",
			diff:    "--- a/x.go\n+++ b/x.go\n@@ -1,3 +1,3 @@\n a\n-b\n",
			wantErr: true,
		},
		{
			name:    "new-file",
			diff:    "--- /dev/null\n+++ b/y.go\n@@ -0,0 +1 @@\n+y\n",
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := parseUnifiedDiff(tc.diff)
			if err == nil && len(files) != 1 {
				t.Fatalf("%d files", len(files))
			}
			var got string
			if err == nil {
				if files[0].path != "x.go" {
					t.Fatalf("path %q", files[0].path)
				}
				got, err = files[0].apply(original)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
