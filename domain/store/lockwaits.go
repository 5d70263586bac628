package store

import (
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// SampleLockWaits looks at the server's sessions every interval until stop is closed and
// says how often one waited for another's lock, by the statement that waited ("3 of 200
// samples [3× UPDATE …]"): for benchmarks, where work that blocks work hides in the wall
// clock.
func SampleLockWaits(db *sql.DB, every time.Duration, stop <-chan struct{}) string {
	samples, waiting := 0, 0
	by := map[string]int{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			var top []string
			for q, n := range by {
				top = append(top, fmt.Sprintf("%d× %s", n, q))
			}
			slices.Sort(top)
			return fmt.Sprintf("%d of %d samples %v", waiting, samples, top)
		case <-tick.C:
		}
		rows, err := db.Query(`SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 50) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)
		if err != nil {
			continue
		}
		samples++
		n := 0
		for rows.Next() {
			var q string
			if rows.Scan(&q) == nil {
				by[q]++
				n++
			}
		}
		rows.Close()
		if n > 0 {
			waiting++
		}
	}
}
