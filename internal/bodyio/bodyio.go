// Package bodyio reads HTTP bodies whose length is usually announced.
package bodyio

import "io"

// ReadAll reads r to its end, as io.ReadAll does, into a buffer sized
// from size, an announced length (Content-Length; negative when unknown)
// that is trusted only up to limit. io.ReadAll starts at 512 bytes and
// grows by copying: for the few-kilobyte bodies of an enrollment that was
// four allocations and as many copies per body. r must itself stop at the
// limit (http.MaxBytesReader, io.LimitReader); limit only bounds the
// allocation a false announcement can cause.
func ReadAll(r io.Reader, size, limit int64) ([]byte, error) {
	n := int64(4096)
	if size >= 0 {
		n = min(size, limit) + 1 // +1: room to see the end without growing
	}
	b := make([]byte, 0, max(n, 512))
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow as append does
		}
	}
}
