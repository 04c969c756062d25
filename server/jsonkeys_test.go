package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestCheckJSONKeys(t *testing.T) {
	many := func(last string) string {
		var sb strings.Builder
		sb.WriteString("{")
		for i := range 40 {
			sb.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1,`)
		}
		sb.WriteString(`"` + last + `":2}`)
		return sb.String()
	}
	for _, tc := range []struct {
		name, body string
		want       string // "" for no error; else a substring of the message
		field      string
	}{
		{"flat", `{"a":1,"b":"x","c":[1,2,{"a":3}],"d":{"a":null}}`, "", ""},
		{"keys only look alike inside strings", `{"a":"\"a\":1","b":"}{[","c":"\\"}`, "", ""},
		{"duplicate", `{"a":1,"a":2}`, `duplicate key "a"`, "a"},
		{"escaped duplicate", `{"a":1,"\u0061":2}`, `duplicate key "a"`, "a"},
		{"case-folded duplicate", `{"Role":1,"rOLE":2}`, `duplicate key "rOLE" (the same as "Role"`, "rOLE"},
		{"duplicate in an array's object", `{"x":[{},{"b":1,"b":1}]}`, `duplicate key "b" in "x[1]"`, "x[1].b"},
		{"duplicate past the small-object limit", many("kaa"), `duplicate key "kaa"`, "kaa"},
		{"case-folded duplicate past the limit", many("KZA"), `duplicate key "KZA" (the same as "kza"`, "KZA"},
		{"no duplicate past the limit", many("other"), "", ""},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":1}}`, "", ""},
		{"too deep", strings.Repeat("[", 33) + strings.Repeat("]", 33), "nesting too deep", ""},
		{"deep enough", strings.Repeat("[", 32) + strings.Repeat("]", 32), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSONKeys([]byte(tc.body))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			var pe *passkeyd.Error
			if tc.field != "" && (!errors.As(err, &pe) || len(pe.Fields) != 1 || pe.Fields[0].Field != tc.field) {
				t.Errorf("fields %+v, want one for %q", pe, tc.field)
			}
		})
	}
}

// FuzzCheckJSONKeys compares the scanner with a walk of json.Decoder
// tokens, the simple and slow way it replaced: on valid JSON, which is
// all readJSON gives it, both must find the same duplicate (or nesting)
// error, or none.
func FuzzCheckJSONKeys(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":[1,{"c":1,"C":2}]}}`, `{"a":"\"","\u0061":1}`, `[[[[]]]]`,
		`{"k":1,"K":1}`, `{"s":1,"ſ":1}`, `{"":{"0":[{"C":0,"C":0}]}}`, `{"a":1e999,"a":1}`, `{"x":[{"y":1},{"y":1,"y":2}]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		got, want := checkJSONKeys([]byte(body)), referenceCheckJSONKeys([]byte(body))
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Fatalf("body %q: scanner %v, token walk %v", body, got, want)
		}
	})
}

func referenceCheckJSONKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := referenceWalk(dec, 0, ""); err != nil && err != errStopWalk {
		return err
	}
	return nil
}

func referenceWalk(dec *json.Decoder, depth int, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return errStopWalk
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return passkeyd.Errorf(passkeyd.EInvalid, "invalid JSON at offset %d: nesting too deep (more than %d levels)", max(dec.InputOffset()-1, 0), maxJSONDepth)
	}
	if delim == '[' {
		for i := 0; dec.More(); i++ {
			if err := referenceWalk(dec, depth+1, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	} else {
		seen := make(map[string]string)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return errStopWalk
			}
			key, _ := tok.(string)
			field := safeFieldName(key)
			if path != "" {
				field = path + "." + field
			}
			if first, dup := seen[fold(key)]; dup {
				return duplicateKey(key, first, path, field)
			}
			seen[fold(key)] = key
			if err := referenceWalk(dec, depth+1, field); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return errStopWalk
	}
	return nil
}
