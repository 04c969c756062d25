package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	passkeyd "github.com/passkeyd/passkeyd"
)

// errStopWalk ends checkJSONKeys at a syntax error (which a valid body
// has not).
var errStopWalk = errors.New("stop walking")

// checkJSONKeys refuses a body whose first JSON value repeats a key in an
// object, or nests deeper than maxJSONDepth. encoding/json silently keeps
// the last of repeated keys, and matches keys to fields regardless of
// case, so {"role":"viewer","ROLE":"admin"} would pass a proxy or log that
// reads the first one and be decoded as the second: keys equal under case
// folding are therefore duplicates too.
//
// The body must be valid JSON (readJSON decodes it first): the scanner
// finds keys and nesting, it does not check syntax.
//
// It scans the bytes itself rather than walking json.Decoder tokens: the
// walk allocated every string and number of the body, and was as costly
// as the decode it guards.
func checkJSONKeys(body []byte) error {
	k := keyScanner{b: body}
	if err := k.value(0); err != nil && err != errStopWalk {
		return err
	}
	return nil
}

// keyScanner walks one JSON value, keeping the path to where it is for
// error messages.
type keyScanner struct {
	b    []byte
	i    int
	path []pathStep
}

// pathStep is an object key or an array index.
type pathStep struct {
	key   string
	index int // -1 for a key
}

// render names the path, as field names do: a.b[0].c.
func render(steps []pathStep) string {
	var sb strings.Builder
	for _, st := range steps {
		if st.index >= 0 {
			fmt.Fprintf(&sb, "[%d]", st.index)
			continue
		}
		if sb.Len() > 0 { // as the path "" of the body and a key "" make ""
			sb.WriteByte('.')
		}
		sb.WriteString(safeFieldName(st.key))
	}
	return sb.String()
}

func (k *keyScanner) space() {
	for k.i < len(k.b) {
		switch k.b[k.i] {
		case ' ', '\t', '\n', '\r':
			k.i++
		default:
			return
		}
	}
}

// next returns the next byte after white space, or 0 at the end.
func (k *keyScanner) next() byte {
	k.space()
	if k.i >= len(k.b) {
		return 0
	}
	return k.b[k.i]
}

// value scans one value at depth.
func (k *keyScanner) value(depth int) error {
	switch c := k.next(); c {
	case 0:
		return errStopWalk
	case '{', '[':
		if depth >= maxJSONDepth {
			return passkeyd.Errorf(passkeyd.EInvalid, "invalid JSON at offset %d: nesting too deep (more than %d levels)", k.i, maxJSONDepth)
		}
		k.i++
		if c == '[' {
			return k.array(depth)
		}
		return k.object(depth)
	case '"':
		_, _, err := k.str()
		return err
	default: // a number or a literal: the decode checks it
		for k.i < len(k.b) {
			switch k.b[k.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			k.i++
		}
		return nil
	}
}

func (k *keyScanner) array(depth int) error {
	if k.next() == ']' {
		k.i++
		return nil
	}
	for n := 0; ; n++ {
		k.path = append(k.path, pathStep{index: n})
		err := k.value(depth + 1)
		k.path = k.path[:len(k.path)-1]
		if err != nil {
			return err
		}
		switch k.next() {
		case ',':
			k.i++
		case ']':
			k.i++
			return nil
		default:
			return errStopWalk
		}
	}
}

// smallObject is how many keys are compared pairwise before a map of
// folded keys takes over (an object of thousands of keys must not cost a
// quadratic number of comparisons).
const smallObject = 16

func (k *keyScanner) object(depth int) error {
	if k.next() == '}' {
		k.i++
		return nil
	}
	var keys []string
	var folded map[string]string // folded key → key as first given
	for {
		if k.next() != '"' {
			return errStopWalk
		}
		raw, escaped, err := k.str()
		if err != nil {
			return err
		}
		key := string(raw[1 : len(raw)-1])
		// Escapes, and invalid UTF-8 (which the decoder reads as U+FFFD),
		// are decoded as encoding/json does: the key it matches fields by.
		if (escaped || !utf8.ValidString(key)) && json.Unmarshal(raw, &key) != nil {
			return errStopWalk
		}
		first, dup := "", false
		if folded == nil {
			for _, seen := range keys {
				if strings.EqualFold(seen, key) {
					first, dup = seen, true
					break
				}
			}
			keys = append(keys, key)
			if len(keys) > smallObject {
				folded = make(map[string]string, 2*len(keys))
				for _, kk := range keys {
					if _, ok := folded[fold(kk)]; !ok {
						folded[fold(kk)] = kk
					}
				}
			}
		} else if first, dup = folded[fold(key)]; !dup {
			folded[fold(key)] = key
		}
		if dup {
			parent := render(k.path)
			field := render(append(k.path, pathStep{key: key, index: -1}))
			return duplicateKey(key, first, parent, field)
		}
		if k.next() != ':' {
			return errStopWalk
		}
		k.i++
		k.path = append(k.path, pathStep{key: key, index: -1})
		err = k.value(depth + 1)
		k.path = k.path[:len(k.path)-1]
		if err != nil {
			return err
		}
		switch k.next() {
		case ',':
			k.i++
		case '}':
			k.i++
			return nil
		default:
			return errStopWalk
		}
	}
}

// fold maps keys that strings.EqualFold (and encoding/json's field
// matching) finds equal to one string: each rune becomes the least of its
// case-folding orbit.
func fold(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		sb.WriteRune(least)
	}
	return sb.String()
}

// str scans the string at k.i and returns it quoted, as in the body.
func (k *keyScanner) str() (raw []byte, escaped bool, err error) {
	start := k.i
	k.i++ // the opening quote
	for k.i < len(k.b) {
		switch k.b[k.i] {
		case '\\':
			escaped = true
			k.i += 2
			continue
		case '"':
			k.i++
			return k.b[start:k.i], escaped, nil
		}
		k.i++
	}
	return nil, false, errStopWalk
}
