//go:build !unix

package report

// openFlags: systems without O_NOFOLLOW rely on OpenRegular's check before the open.
const openFlags = 0

// nonBlock: systems without named pipes in the file system need none.
const nonBlock = 0
