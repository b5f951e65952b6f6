//go:build !unix

package report

// openFlags: systems without O_NOFOLLOW rely on OpenRegular's check before the open.
const openFlags = 0
