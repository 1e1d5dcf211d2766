package ossserver

import (
	"bytes"
	"fmt"
	"strconv"
)

// memBackend keeps bodies in memory. Bodies only ever grow in place (by
// append) or are replaced, so a reader holding a prefix of a slice never
// races with a writer.
type memBackend struct {
	bodies map[string][]byte
	next   uint64
}

func newMemBackend() *memBackend { return &memBackend{bodies: map[string][]byte{}} }

func (m *memBackend) load() ([]*bucketState, error)      { return nil, nil }
func (m *memBackend) saveBucket(*bucketState) error      { return nil }
func (m *memBackend) removeBucket(string) error          { return nil }
func (m *memBackend) saveMeta(string, *objectMeta) error { return nil }
func (m *memBackend) removeMeta(string, string) error    { return nil }
func (m *memBackend) close() error                       { return nil }

func (m *memBackend) writeBody(_ string, data []byte) (string, error) {
	m.next++
	blob := strconv.FormatUint(m.next, 10)
	m.bodies[blob] = bytes.Clone(data)
	return blob, nil
}

func (m *memBackend) appendBody(_, blob string, size int64, data []byte) error {
	b, ok := m.bodies[blob]
	if !ok || int64(len(b)) != size {
		return fmt.Errorf("memory body %s: have %d bytes, want %d", blob, len(b), size)
	}
	m.bodies[blob] = append(b, data...)
	return nil
}

func (m *memBackend) truncateBody(_, blob string, size int64) error {
	if b, ok := m.bodies[blob]; ok && int64(len(b)) > size {
		// Copy, so that bytes beyond size are never rewritten under a reader.
		m.bodies[blob] = bytes.Clone(b[:size])
	}
	return nil
}

func (m *memBackend) openBody(_, blob string, size int64) (bodyReader, error) {
	b, ok := m.bodies[blob]
	if !ok || int64(len(b)) < size {
		return nil, fmt.Errorf("memory body %s: missing or shorter than %d bytes", blob, size)
	}
	return memReader{bytes.NewReader(b[:size:size])}, nil
}

func (m *memBackend) removeBody(_, blob string) error {
	delete(m.bodies, blob)
	return nil
}

// memReader is a bodyReader over a byte slice.
type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }
