package abigen

import (
	"strings"
	"testing"
)

const good = `
#define ZIG_H3_OK 0
#define ZIG_H3_ERR_STATE -3
#define ZIG_H3_EVENT_REQUEST 1
#define ZIG_H3_BIG (1ULL << 40)
#define ZIG_H3_STATIC_ASSERT(c, m) _Static_assert(c, m)
#define ZIG_H3_AT(t, f, o) ZIG_H3_STATIC_ASSERT(offsetof(t, f) == (o), "")
enum { ZIG_H3_COUNTER_A = 0, ZIG_H3_COUNTER_B = 1, ZIG_H3_COUNTER_COUNT = 2 };
typedef struct zig_h3_event_header { uint32_t length; uint8_t type; uint8_t pad[3]; } zig_h3_event_header;
ZIG_H3_AT(zig_h3_event_header, length, 0); ZIG_H3_AT(zig_h3_event_header, type, 4);
ZIG_H3_AT(zig_h3_event_header, pad, 5);
typedef struct zig_h3_event_x { zig_h3_event_header h; uint64_t id; uint16_t n; uint8_t data[]; } zig_h3_event_x;
ZIG_H3_AT(zig_h3_event_x, id, 8); ZIG_H3_AT(zig_h3_event_x, n, 16); ZIG_H3_AT(zig_h3_event_x, data, 18);
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_event_x) == 24, "size");
typedef enum zig_h3_kind { ZIG_H3_KIND_A = 0, ZIG_H3_KIND_B = 1 } zig_h3_kind;
typedef void (*zig_h3_cb)(void *user, const uint8_t *p);
typedef struct zig_h3_opts { const char *p; size_t len; zig_h3_kind k; zig_h3_cb cb; int32_t i; uint8_t b[3]; } zig_h3_opts;
ZIG_H3_AT(zig_h3_opts, cb, 24); ZIG_H3_AT(zig_h3_opts, b, 36);
ZIG_H3_STATIC_ASSERT(sizeof(zig_h3_opts) == 40, "size");
/* a comment; with ; and { */
const char *zig_h3_version(void);
int64_t zig_h3_f(zig_h3_server *s, const uint8_t *p, size_t n, uint8_t b);
`

func TestParse(t *testing.T) {
	a, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Structs) != 2 {
		t.Fatalf("%d event structs, want 2 (zig_h3_opts is not one)", len(a.Structs))
	}
	x := a.Structs[1]
	if x.Fixed != 18 || x.Size != 24 || x.field("data").Offset != 18 {
		t.Errorf("layout of %s: fixed %d, size %d", x.Name, x.Fixed, x.Size)
	}
	if a.Limits[0].Value != 1<<40 || len(a.Counters) != 2 || len(a.Funcs) != 2 || len(a.Codes) != 2 {
		t.Errorf("parsed %+v", a)
	}
	ts, err := a.TS()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`zig_h3_version: { args: [], returns: "cstring" }`,
		`zig_h3_f: { args: ["ptr", "ptr", "usize", "u8"], returns: FFIType.i64_fast }`,
		`x: { id: 8, n: 16, data: 18, FIXED: 18 }`, "STATE: -3,", "BIG: 1099511627776,"} {
		if !strings.Contains(string(ts), want) {
			t.Errorf("TS lacks %s", want)
		}
	}
}

// TestParseRejects checks that a header the generator cannot represent
// faithfully is an error, not a wrong file.
func TestParseRejects(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"wrong assert", "(zig_h3_event_x, n, 16)", "(zig_h3_event_x, n, 17)", "asserts 17"},
		{"field without assert", "ZIG_H3_AT(zig_h3_event_x, n, 16);", "", "no ZIG_H3_AT"},
		{"pointer field", "uint16_t n;", "uint16_t n; char *p;", "field"},
		{"counter gap", "ZIG_H3_COUNTER_B = 1", "ZIG_H3_COUNTER_B = 2", "numbered"},
		{"counter count", "ZIG_H3_COUNTER_COUNT = 2", "ZIG_H3_COUNTER_COUNT = 3", "COUNT"},
		{"unknown statement", "const char *zig_h3_version(void);", "int x = 3;", "unrecognised"},
		{"bad limit", "(1ULL << 40)", "(1ULL << 40", "not an integer"},
		{"wrong assert on a pointer struct", "(zig_h3_opts, cb, 24)", "(zig_h3_opts, cb, 20)", "asserts 20"},
		{"bad enum member", "ZIG_H3_KIND_B = 1", "B = 1", "member"},
		{"flexible not last", "uint8_t data[];", "uint8_t data[]; uint8_t z;", "not last"},
	} {
		src := strings.Replace(good, c.from, c.to, 1)
		if src == good {
			t.Fatalf("%s: %q not in the header", c.name, c.from)
		}
		_, err := Parse(src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one with %q", c.name, err, c.want)
		}
	}
	a, _ := Parse(strings.Replace(good, "size_t n", "double n", 1))
	if _, err := a.TS(); err == nil {
		t.Error("TS accepted a double parameter")
	}
}
