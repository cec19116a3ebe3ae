package sqlstore

import (
	"fmt"

	"tasktrack"
)

// wrap names the operation that failed in an internal error, so that the
// log line of a 500 says which use case failed and with which id:
// "sqlstore.UpdateTask(0193...): ...". Call it deferred, on the method's
// named error, as in
//
//	defer wrap(&err, "sqlstore.UpdateTask(%s)", id)
//
// Errors of the other kinds are left as they are: their messages are the
// clients', and errors.As finds the *tasktrack.Error through the wrapping
// anyway.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil && tasktrack.ErrorKind(*errp) == tasktrack.KindInternal {
		*errp = fmt.Errorf(format+": %w", append(args, *errp)...)
	}
}
