package handlers

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// exportBatch is how many rows an export reads per query.
const exportBatch = 1000

// exportPage returns the export's rows from offset on, at most limit of them; fewer than
// limit means the end.
type exportPage func(offset, limit int) ([][]string, error)

// streamCSV writes an export as a CSV download named name-<date>.csv. The first batch is read
// before anything is sent, so a failing query answers with an error page, not an empty file.
// Every cell passes through csvSafe. A later failure aborts the connection: the browser then
// reports the download as failed instead of saving a silently truncated file.
func streamCSV(c echo.Context, name string, header []string, page exportPage) error {
	rows, err := page(0, exportBatch)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, name, time.Now().UTC().Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(header); err != nil {
		return nil // the client went away
	}
	for offset := 0; ; {
		for _, row := range rows {
			for i := range row {
				row[i] = csvSafe(row[i])
			}
			_ = w.Write(row)
		}
		w.Flush()
		if w.Error() != nil || len(rows) < exportBatch {
			return nil
		}
		offset += exportBatch
		if rows, err = page(offset, exportBatch); err != nil {
			c.Logger().Errorf("export %s stopped after %d rows: %v", name, offset, err)
			panic(http.ErrAbortHandler)
		}
	}
}

// plainNumber is a cell a spreadsheet reads as a number, never as a formula.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// csvSafe keeps a spreadsheet from running a cell as a formula (CSV injection, as OWASP
// describes it): a cell starting with = + - @ tab or carriage return gets a leading
// apostrophe, which spreadsheets show as text. Plain numbers such as -50 stay numbers.
func csvSafe(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber.MatchString(s) {
		return s
	}
	return "'" + s
}
