package api

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
)

// maxHeavyPerUser is how many heavy requests one user may run at once. A heavy request
// holds a database connection and memory for seconds (an import of 64 MiB, a report as of a
// past date); four let a user's scripts and browser work in parallel, yet one user cannot
// take the pool from everybody else.
const maxHeavyPerUser = 4

// heavyRetryAfter is the Retry-After of the 429, in seconds: about how long a heavy request
// takes.
const heavyRetryAfter = 5

// heavyOperations are heavy whatever their parameters; asOfOperations when they read the
// past (as_of), which scans the versions instead of the current entries.
var (
	heavyOperations = map[string]bool{
		"importInventory": true, "exportInventory": true,
		"getReadinessReport": true, "getProgressReport": true, "getBlockedReport": true,
		"getAnlageCoverageReport": true, "getConsistencyReport": true, "getOverdueReport": true,
	}
	asOfOperations = map[string]bool{
		"listRegisters": true, "listRessortRegisters": true, "listOnlinedienste": true, "listRessortOnlinedienste": true,
	}
)

// heavyLimiter counts the heavy requests running per user.
type heavyLimiter struct {
	mu      sync.Mutex
	max     int
	running map[string]int
}

// limitHeavy answers 429 to a user's heavy request while maxHeavyPerUser of theirs run. It
// belongs after authentication (it counts per caller) and before the body is read.
func limitHeavy(max int) echo.MiddlewareFunc {
	l := &heavyLimiter{max: max, running: map[string]int{}}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			m, ok := c.Get(routeKey).(*matchedRoute)
			if !ok {
				return next(c)
			}
			op := m.route.Operation.OperationID
			if !heavyOperations[op] && !(asOfOperations[op] && c.Request().URL.Query().Has("as_of")) {
				return next(c)
			}
			caller, ok := callerFrom(c.Request().Context())
			if !ok {
				return next(c) // public: authentication let it through without a caller
			}
			if !l.acquire(caller.User) {
				p := newProblem(http.StatusTooManyRequests, "too-many-heavy-requests", "Too many heavy requests at once",
					"You already run "+strconv.Itoa(l.max)+" imports, exports, reports or lists as of a past date; wait for one to finish and try again.")
				p.header = http.Header{"Retry-After": {strconv.Itoa(heavyRetryAfter)}}
				return p
			}
			defer l.release(caller.User)
			return next(c)
		}
	}
}

func (l *heavyLimiter) acquire(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[user] >= l.max {
		return false
	}
	l.running[user]++
	return true
}

func (l *heavyLimiter) release(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Users without a running request are forgotten, so the map holds only the running.
	if l.running[user]--; l.running[user] <= 0 {
		delete(l.running, user)
	}
}
