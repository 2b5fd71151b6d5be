package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// canonicalJSON returns the canonical form of the single JSON value in b:
// the same tokens in the same order — keys are neither sorted nor
// de-duplicated, numbers are kept as written — with insignificant whitespace
// removed and every string (keys included) re-encoded as encoding/json
// writes it without HTML escaping.
//
// The compact output of [Keyring.Sign] is its own canonical form, and so is
// any reformatting of it that only re-indents it or re-escapes its strings
// (json.MarshalIndent, HTML escaping by json.Marshal, \uXXXX escaping of
// non-ASCII characters by other tools). Two inputs with the same canonical
// form mean the same to every JSON parser, so verifying a signature over the
// canonical form accepts a reformatted record but nothing that reads
// differently.
func canonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()

	type frame struct {
		object bool
		n      int // tokens written in this container
	}
	var (
		out   bytes.Buffer
		stack []frame
		done  bool // the top-level value is complete
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !done {
				return nil, io.ErrUnexpectedEOF
			}
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if done {
			return nil, errors.New("trailing data after the JSON value")
		}

		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
			done = len(stack) == 0
			continue
		}

		// A key, a scalar value or the start of a container: separate it
		// from what precedes it in the enclosing container.
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			switch {
			case top.object && top.n%2 == 1:
				out.WriteByte(':')
			case top.n > 0:
				out.WriteByte(',')
			}
			top.n++
		}

		switch t := tok.(type) {
		case json.Delim: // '{' or '['
			out.WriteByte(byte(t))
			stack = append(stack, frame{object: t == '{'})
		case string:
			s, err := encodeCanonical(t)
			if err != nil {
				return nil, err
			}
			out.Write(s)
		case json.Number:
			out.WriteString(string(t))
		case bool:
			if t {
				out.WriteString("true")
			} else {
				out.WriteString("false")
			}
		case nil:
			out.WriteString("null")
		default:
			return nil, fmt.Errorf("unexpected JSON token %T", tok)
		}
		done = len(stack) == 0
	}
}
