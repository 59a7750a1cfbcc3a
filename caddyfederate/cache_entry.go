package caddyfederate

import (
	"encoding/binary"
	"errors"
	"time"
)

// entryMagic starts every encoded entry (format version 1).
const entryMagic = "FC\x01"

// encodeEntry lays e out for a shared store: magic, creation time (unix
// milliseconds, 8 bytes), the number of generations (2 bytes), each as a
// 2-byte length and its bytes, then the answer body.
func encodeEntry(e *cacheEntry) []byte {
	n := len(entryMagic) + 8 + 2 + len(e.body)
	for _, g := range e.gens {
		n += 2 + len(g)
	}
	b := make([]byte, 0, n)
	b = append(b, entryMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.created.UnixMilli()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.gens)))
	for _, g := range e.gens {
		b = binary.BigEndian.AppendUint16(b, uint16(len(g)))
		b = append(b, g...)
	}
	return append(b, e.body...)
}

var errBadEntry = errors.New("not a federate cache entry")

// decodeEntry reads what encodeEntry wrote. The bytes come from a shared
// store anyone with access could write to: anything malformed is an error.
func decodeEntry(b []byte) (*cacheEntry, error) {
	if len(b) < len(entryMagic)+10 || string(b[:len(entryMagic)]) != entryMagic {
		return nil, errBadEntry
	}
	b = b[len(entryMagic):]
	e := &cacheEntry{created: time.UnixMilli(int64(binary.BigEndian.Uint64(b)))}
	n := int(binary.BigEndian.Uint16(b[8:]))
	b = b[10:]
	if n > len(b)/2 {
		return nil, errBadEntry
	}
	e.gens = make([]string, n)
	for i := range e.gens {
		if len(b) < 2 {
			return nil, errBadEntry
		}
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l {
			return nil, errBadEntry
		}
		e.gens[i] = string(b[2 : 2+l])
		b = b[2+l:]
	}
	e.body = b
	return e, nil
}
