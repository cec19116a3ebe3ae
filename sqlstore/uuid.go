package sqlstore

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/google/uuid"
	"modernc.org/sqlite"
)

func init() {
	// tt_uuid7(ms) makes a version 7 UUID for the given Unix milliseconds,
	// so that set-based INSERT ... SELECT statements can make ids.
	sqlite.MustRegisterScalarFunction("tt_uuid7", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		ms, ok := args[0].(int64)
		if !ok {
			return nil, fmt.Errorf("tt_uuid7: want an integer, got %T", args[0])
		}
		return uuidV7At(ms).String(), nil
	})
	// lower() folds every script, as PostgreSQL's does, not ASCII alone,
	// so that searches ignore case in any language.
	sqlite.MustRegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if s, ok := args[0].(string); ok {
			return strings.ToLower(s), nil
		}
		return args[0], nil
	})
}

// uuidV7At returns a fresh version 7 UUID whose time part is ms. Within
// one millisecond the ids this process makes increase (a counter from a
// random start fills the 74 bits after the time), so a sweep's alerts go
// into the id index in order; other processes start elsewhere at random.
func uuidV7At(ms int64) uuid.UUID {
	uuidMu.Lock()
	if ms != uuidLastMS {
		uuidLastMS = ms
		uuidCounter = rand.Uint64() >> 2 // room to count up
	} else {
		uuidCounter++
	}
	c := uuidCounter
	uuidMu.Unlock()
	var u uuid.UUID
	for i := 0; i < 6; i++ {
		u[5-i] = byte(ms >> (8 * i))
	}
	// The version and this process's 12 random bits, then the variant
	// and 62 bits of the counter.
	u[6] = 0x70 | byte(uuidRandA>>8&0x0f)
	u[7] = byte(uuidRandA)
	binary.BigEndian.PutUint64(u[8:], c)
	u[8] = 0x80 | u[8]&0x3f
	return u
}

var (
	uuidMu      sync.Mutex
	uuidLastMS  int64
	uuidCounter uint64
	// uuidRandA is this process's random 12 bits, so that two processes
	// counting in the same millisecond differ early in the id.
	uuidRandA = uint16(rand.Uint32())
)
