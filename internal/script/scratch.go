package script

// maxScratch is the largest scratch buffer a runtime keeps between uses: a larger request
// allocates its own, which goes after it is wiped.
const maxScratch = 64 << 10

// borrow lends the runtime's scratch buffer, empty, with room for n bytes. It holds a
// provider's ciphertext in its encodings or a decrypted plaintext on its way into a string:
// never data the script or the caller gets a reference to. While it is lent, a second borrow
// gets a buffer of its own.
func (st *callState) borrow(n int) []byte {
	b := st.scratch
	st.scratch = nil
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	return b[:0]
}

// giveBack wipes the first n bytes of a borrowed buffer (all its user wrote) and keeps it for
// the next borrow. Called deferred: a request that fails midway wipes it too.
func (st *callState) giveBack(b []byte, n int) {
	clear(b[:n])
	if cap(b) <= maxScratch && cap(b) > cap(st.scratch) {
		st.scratch = b[:0]
	}
}
