//go:build unix

package report

import "syscall"

// openFlags keep OpenRegular from following a link that replaced the file after its check,
// and from blocking on a named pipe that did.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// nonBlock keeps OpenInput from blocking on a named pipe.
const nonBlock = syscall.O_NONBLOCK
