// Package abigen reads the C ABI of include/zig_h3.h (return codes, event
// types, event structs, limits, counters, function prototypes) and writes
// it out for Go (internal/abi) and Bun (bun/abi.gen.ts). The header is the
// one source; the generated files are checked in, and internal/abi's test
// fails when they differ from what the header gives.
package abigen

import (
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"regexp"
	"strconv"
	"strings"
)

// Const is a named integer of the header, by its C name.
type Const struct {
	Name  string
	Value int64
}

// Field is a field of an event struct. Array is its element count, -1 for
// a flexible array member (the variable part of the event), 0 for a scalar.
type Field struct {
	Name, Type   string
	Offset, Size int
	Array        int
	Nested       bool // an event struct (the header) inside another
}

// Struct is a struct laid out with the natural alignment of its fields:
// an event struct (zig_h3_event_*), whose fields are fixed-width integers,
// or another struct of the header (pointers, size_t, enums), kept only to
// check the header's asserts on its layout. Fixed is the size of its fixed
// part (where a flexible member starts), Size its C sizeof.
type Struct struct {
	Name               string
	Fields             []Field
	Fixed, Size, Align int
}

// Param is a function parameter; Func a function prototype.
type Param struct{ Type, Name string }

type Func struct {
	Name, Return string
	Params       []Param
}

// ABI is what the header declares.
type ABI struct {
	Codes    []Const // ZIG_H3_OK, ZIG_H3_ERR_*
	Events   []Const // ZIG_H3_EVENT_*
	Limits   []Const // every other integer ZIG_H3_* define
	Counters []Const // ZIG_H3_COUNTER_* in index order, without ZIG_H3_COUNTER_COUNT
	Structs  []Struct
	Funcs    []Func
}

var (
	defineRE   = regexp.MustCompile(`^#\s*define\s+(ZIG_H3_\w+)(\(?)\s*(.*)$`)
	intLitRE   = regexp.MustCompile(`\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b`)
	structRE   = regexp.MustCompile(`^(?:typedef )?(struct|enum) ?(\w*) ?\{(.*)\} ?(\w*)$`)
	opaqueRE   = regexp.MustCompile(`^typedef struct (\w+) (\w+)$`)
	callbackRE = regexp.MustCompile(`^typedef [\w *]+\(\*(\w+)\)\(.*\)$`)
	atRE       = regexp.MustCompile(`^ZIG_H3_AT\((\w+), ?(\w+), ?(\d+)\)$`)
	sizeRE     = regexp.MustCompile(`^ZIG_H3_STATIC_ASSERT\(sizeof\((\w+)\) == (\d+), ".*"\)$`)
	protoRE    = regexp.MustCompile(`^([\w ]+?) ?(\*?) ?(zig_h3_\w+)\((.*)\)$`)
	fieldRE    = regexp.MustCompile(`^(\w+) (\w+)(?:\[(\d*)\])?$`)
	enumRE     = regexp.MustCompile(`^(ZIG_H3_COUNTER_\w+) ?= ?(\d+)$`)
	memberRE   = regexp.MustCompile(`^ZIG_H3_\w+(?: ?= ?-?\d+)?$`)
	spaceRE    = regexp.MustCompile(`\s+`)
)

// scalars are the field types an event may hold: fixed-width, little-endian.
var scalars = map[string]int{"uint8_t": 1, "uint16_t": 2, "uint32_t": 4, "uint64_t": 8, "int32_t": 4}

// cTypes are the sizes of the other field types of the header's structs
// (x86-64, LP64); pointers, enums and callbacks are added as declared.
var cTypes = map[string]int{"size_t": 8, "int64_t": 8, "int16_t": 2, "int8_t": 1, "int": 4}

// Parse reads the header's text.
func Parse(src string) (*ABI, error) {
	code, defines, err := preprocess(stripComments(src))
	if err != nil {
		return nil, err
	}
	p := &parser{a: &ABI{}, structs: map[string]*Struct{}, types: map[string]int{}}
	p.classify(defines)
	for _, st := range statements(code) {
		if err := p.statement(st); err != nil {
			return nil, err
		}
	}
	if err := p.verifyAsserts(); err != nil {
		return nil, err
	}
	return p.a, p.a.validate()
}

// parser is the state of one Parse.
type parser struct {
	a       *ABI
	structs map[string]*Struct // every struct laid out, event or not
	types   map[string]int     // sizes of the enum and callback typedefs
	asserts []assert
}

// assert is one ZIG_H3_AT (field set) or size assert of the header.
type assert struct {
	typ, field string
	want       int
}

// classify sorts the #defines into codes, event types and limits.
func (p *parser) classify(defines []Const) {
	for _, d := range defines {
		switch {
		case d.Name == "ZIG_H3_OK" || strings.HasPrefix(d.Name, "ZIG_H3_ERR_"):
			p.a.Codes = append(p.a.Codes, d)
		case strings.HasPrefix(d.Name, "ZIG_H3_EVENT_"):
			p.a.Events = append(p.a.Events, d)
		default:
			p.a.Limits = append(p.a.Limits, d)
		}
	}
}

// statement takes one top-level declaration of the header.
func (p *parser) statement(st string) error {
	var m []string
	match := func(re *regexp.Regexp) bool { m = re.FindStringSubmatch(st); return m != nil }
	switch {
	case match(opaqueRE):
	case match(callbackRE):
		p.types[m[1]] = 8 // a function pointer
	case match(structRE):
		return p.structure(m[1], m[2], m[3], m[4])
	case match(atRE):
		n, _ := strconv.Atoi(m[3])
		p.asserts = append(p.asserts, assert{m[1], m[2], n})
	case match(sizeRE):
		n, _ := strconv.Atoi(m[2])
		p.asserts = append(p.asserts, assert{m[1], "", n})
	case match(protoRE):
		f, err := parseFunc(m[1]+" "+m[2], m[3], m[4])
		if err != nil {
			return err
		}
		p.a.Funcs = append(p.a.Funcs, f)
	default:
		return fmt.Errorf("unrecognised declaration: %q", st)
	}
	return nil
}

// structure takes a struct or enum declaration: the counter enum, a named
// enum (a type of the original ABI's structs), an event struct, or another
// struct. Only event structs are wire data (ABI.Structs); the original
// ABI's structs hold pointers and are laid out only to check their asserts
// (a struct whose layout cannot be computed is left out).
func (p *parser) structure(kind, tag, body, name string) error {
	if name == "" {
		name = tag
	}
	if kind == "enum" {
		if name == "" {
			return p.a.parseCounters(body)
		}
		return p.namedEnum(name, body)
	}
	if !strings.HasPrefix(name, "zig_h3_event_") {
		if s, err := layoutC(name, body, p.types, p.structs); err == nil {
			p.structs[name] = s
		}
		return nil
	}
	s, err := layout(name, body, p.structs)
	if err != nil {
		return err
	}
	p.structs[name] = s
	p.a.Structs = append(p.a.Structs, *s)
	return nil
}

// namedEnum takes a typedef enum: its members are ZIG_H3_NAME [= value];
// it becomes a 4-byte type.
func (p *parser) namedEnum(name, body string) error {
	for _, item := range strings.Split(body, ",") {
		if item = strings.TrimSpace(item); item != "" && !memberRE.MatchString(item) {
			return fmt.Errorf("enum %s: member %q: want ZIG_H3_NAME = value", name, item)
		}
	}
	p.types[name] = 4
	return nil
}

// verifyAsserts checks that the header's asserts, which state the wire
// offsets, agree with the layout computed here and name every field.
func (p *parser) verifyAsserts() error {
	seen := map[string]bool{}
	for _, c := range p.asserts {
		s := p.structs[c.typ]
		if s == nil {
			return fmt.Errorf("assert on unknown struct %s", c.typ)
		}
		got := s.Size
		if c.field != "" {
			f := s.field(c.field)
			if f == nil {
				return fmt.Errorf("assert on unknown field %s.%s", c.typ, c.field)
			}
			got = f.Offset
		}
		if got != c.want {
			return fmt.Errorf("%s.%s: the header asserts %d, natural alignment gives %d", c.typ, c.field, c.want, got)
		}
		seen[c.typ+"."+c.field] = true
	}
	for _, s := range p.a.Structs {
		for _, f := range s.Fields {
			if !f.Nested && !seen[s.Name+"."+f.Name] {
				return fmt.Errorf("%s.%s has no ZIG_H3_AT assert of its offset", s.Name, f.Name)
			}
		}
	}
	return nil
}

func (s *Struct) field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// layout lays out an event struct: each field at the next multiple of its
// alignment (its size, for fixed-width integers), as a C compiler does.
func layout(name, body string, known map[string]*Struct) (*Struct, error) {
	s := &Struct{Name: name, Align: 1}
	off := 0
	for _, decl := range strings.Split(body, ";") {
		decl = strings.TrimSpace(decl)
		if decl == "" {
			continue
		}
		m := fieldRE.FindStringSubmatch(decl)
		if m == nil {
			return nil, fmt.Errorf("%s: field %q: want a fixed-width integer, an array of them or an event struct", name, decl)
		}
		f := Field{Type: m[1], Name: m[2]}
		size, align := scalars[f.Type], scalars[f.Type]
		if inner := known[f.Type]; inner != nil {
			size, align, f.Nested = inner.Size, inner.Align, true
		} else if size == 0 {
			return nil, fmt.Errorf("%s.%s: type %s is not a fixed-width integer", name, f.Name, f.Type)
		}
		if s.field(f.Name) != nil {
			return nil, fmt.Errorf("%s.%s declared twice", name, f.Name)
		}
		if len(s.Fields) > 0 && s.Fields[len(s.Fields)-1].Array < 0 {
			return nil, fmt.Errorf("%s: the flexible member is not last", name)
		}
		n := 1
		if strings.Contains(decl, "[") {
			f.Array = -1
			n = 0
			if m[3] != "" {
				f.Array, _ = strconv.Atoi(m[3])
				n = f.Array
			}
		}
		off = s.place(f, off, size, align, n)
		if f.Array < 0 {
			s.Fixed = s.Fields[len(s.Fields)-1].Offset
		}
	}
	if s.Fixed == 0 {
		s.Fixed = off
	}
	s.Size = alignUp(off, s.Align)
	return s, nil
}

// place appends f, n elements of size bytes aligned to align, at the first
// aligned offset from off, as a C compiler lays fields out; it returns the
// offset after it.
func (s *Struct) place(f Field, off, size, align, n int) int {
	f.Offset, f.Size = alignUp(off, align), size*n
	s.Fields = append(s.Fields, f)
	s.Align = max(s.Align, align)
	return f.Offset + f.Size
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// cFieldRE is a field of a struct of the original ABI: qualifiers, a type,
// an optional pointer star, a name and an optional array length.
var cFieldRE = regexp.MustCompile(`^(?:const )?(\w+) ?(\*?) ?(\w+)(?:\[(\d+)\])?$`)

// layoutC lays out a struct of the original ABI, whose fields may be
// pointers, size_t, enums, callbacks and other structs.
func layoutC(name, body string, types map[string]int, known map[string]*Struct) (*Struct, error) {
	s := &Struct{Name: name, Align: 1}
	off := 0
	for _, decl := range strings.Split(body, ";") {
		decl = strings.TrimSpace(decl)
		if decl == "" {
			continue
		}
		m := cFieldRE.FindStringSubmatch(decl)
		if m == nil {
			return nil, fmt.Errorf("%s: field %q", name, decl)
		}
		size, align := 8, 8
		switch {
		case m[2] == "*":
		case scalars[m[1]] > 0:
			size, align = scalars[m[1]], scalars[m[1]]
		case cTypes[m[1]] > 0:
			size, align = cTypes[m[1]], cTypes[m[1]]
		case types[m[1]] > 0:
			size, align = types[m[1]], types[m[1]]
		case known[m[1]] != nil:
			size, align = known[m[1]].Size, known[m[1]].Align
		default:
			return nil, fmt.Errorf("%s.%s: unknown type %s", name, m[3], m[1])
		}
		f := Field{Name: m[3], Type: m[1]}
		n := 1
		if m[4] != "" {
			n, _ = strconv.Atoi(m[4])
			f.Array = n
		}
		off = s.place(f, off, size, align, n)
	}
	s.Fixed = off
	s.Size = alignUp(off, s.Align)
	return s, nil
}

func (a *ABI) parseCounters(body string) error {
	for _, item := range strings.Split(body, ",") {
		item = strings.TrimSpace(item)
		m := enumRE.FindStringSubmatch(item)
		if m == nil {
			return fmt.Errorf("enum member %q: want ZIG_H3_COUNTER_NAME = index", item)
		}
		v, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "ZIG_H3_COUNTER_COUNT" {
			if v != int64(len(a.Counters)) {
				return fmt.Errorf("ZIG_H3_COUNTER_COUNT is %d, but %d counters precede it", v, len(a.Counters))
			}
			return nil
		}
		if v != int64(len(a.Counters)) {
			return fmt.Errorf("%s = %d: counters must be numbered 0, 1, 2, ... in order", m[1], v)
		}
		a.Counters = append(a.Counters, Const{m[1], v})
	}
	return fmt.Errorf("the counter enum does not end with ZIG_H3_COUNTER_COUNT")
}

func parseFunc(ret, name, params string) (Func, error) {
	f := Func{Name: name, Return: strings.TrimSpace(ret)}
	if params == "void" {
		return f, nil
	}
	for _, p := range strings.Split(params, ",") {
		p = strings.TrimSpace(p)
		i := strings.LastIndexAny(p, " *")
		if i < 0 {
			return f, fmt.Errorf("%s: parameter %q has no name", name, p)
		}
		f.Params = append(f.Params, Param{Type: strings.TrimSpace(p[:i+1]), Name: p[i+1:]})
	}
	return f, nil
}

func (a *ABI) validate() error {
	names := map[string]bool{}
	for _, group := range [][]Const{a.Codes, a.Events, a.Limits, a.Counters} {
		for _, c := range group {
			names[c.Name] = true
		}
	}
	for _, need := range []string{"ZIG_H3_OK", "ZIG_H3_EVENT_REQUEST", "zig_h3_event_header"} {
		if !names[need] && !a.hasStruct(need) {
			return fmt.Errorf("the header declares no %s", need)
		}
	}
	if len(a.Counters) == 0 || len(a.Funcs) == 0 {
		return fmt.Errorf("no counters or no prototypes found")
	}
	return nil
}

func (a *ABI) hasStruct(name string) bool {
	for _, s := range a.Structs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// stripComments removes /* */ and // comments outside string literals.
func stripComments(src string) string {
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		switch {
		case src[i] == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(src[i:min(j+1, len(src))])
			i = j
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += end + 3
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		default:
			b.WriteByte(src[i])
		}
	}
	return b.String()
}

// preprocess keeps the C (not C++) side of the conditionals, collects the
// integer ZIG_H3_* defines and returns the remaining code with the empty
// object-like macros removed.
func preprocess(src string) (code string, defines []Const, err error) {
	src = strings.ReplaceAll(src, "\\\n", " ")
	var out strings.Builder
	var active []bool // one per open conditional
	on := func() bool {
		for _, a := range active {
			if !a {
				return false
			}
		}
		return true
	}
	var empty []string
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			if on() {
				out.WriteString(line + "\n")
			}
			continue
		}
		directive := strings.Fields(strings.TrimPrefix(t, "#"))
		switch directive[0] {
		case "if", "ifdef", "ifndef":
			// Only __cplusplus decides anything here: this reads the C side.
			cxx := strings.Contains(t, "__cplusplus")
			neg := directive[0] == "ifndef" || strings.Contains(t, "!defined")
			active = append(active, !cxx || neg)
		case "else":
			active[len(active)-1] = !active[len(active)-1]
		case "endif":
			active = active[:len(active)-1]
		case "define":
			if !on() {
				continue
			}
			m := defineRE.FindStringSubmatch(t)
			if m == nil || m[2] == "(" {
				continue // not ours, or a function-like macro
			}
			if m[3] == "" {
				empty = append(empty, m[1])
				continue
			}
			v, ok := evalInt(m[3])
			if !ok {
				if strings.ContainsAny(m[3][:1], "0123456789-(") {
					return "", nil, fmt.Errorf("#define %s %s: not an integer constant", m[1], m[3])
				}
				continue
			}
			defines = append(defines, Const{m[1], v})
		case "include", "elif", "undef", "error", "pragma":
			if directive[0] == "elif" {
				return "", nil, fmt.Errorf("#elif is not supported: %s", t)
			}
		}
	}
	code = out.String()
	for _, name := range empty {
		code = regexp.MustCompile(`\b`+name+`\b`).ReplaceAllString(code, "")
	}
	return code, defines, nil
}

// evalInt evaluates an integer constant expression of C literals (with
// u/l suffixes), parentheses and operators, as Go evaluates it.
func evalInt(expr string) (int64, bool) {
	expr = intLitRE.ReplaceAllString(expr, "$1")
	tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, expr)
	if err != nil || tv.Value == nil || tv.Value.Kind() != constant.Int {
		return 0, false
	}
	return constant.Int64Val(tv.Value)
}

// statements splits code at the semicolons outside braces, with the white
// space of each statement collapsed to single spaces.
func statements(code string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range code {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ';':
			if depth == 0 {
				out = append(out, code[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(code[start:]) != "" {
		out = append(out, code[start:])
	}
	for i, s := range out {
		s = spaceRE.ReplaceAllString(strings.TrimSpace(s), " ")
		s = strings.ReplaceAll(strings.ReplaceAll(s, "( ", "("), " )", ")")
		out[i] = s
	}
	res := out[:0]
	for _, s := range out {
		if s != "" {
			res = append(res, s)
		}
	}
	return res
}
