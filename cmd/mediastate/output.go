package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// emit prints v as indented JSON, or as a table drawn by table.
func (e *env) emit(v any, table func(w io.Writer)) error {
	if e.format == "table" {
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// lister prints a sequence of items as they come: a JSON array written
// element by element (so any number can be listed), or table rows.
type lister struct {
	e      *env
	tw     *tabwriter.Writer
	row    func(w io.Writer, item any)
	n      int
	rowsIn int // table rows since the last flush
}

// newLister starts a listing; header is the table's header row.
func (e *env) newLister(header string, row func(w io.Writer, item any)) *lister {
	l := &lister{e: e, row: row}
	if e.format == "table" {
		l.tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(l.tw, header)
	} else {
		fmt.Fprint(e.stdout, "[")
	}
	return l
}

// add prints one item.
func (l *lister) add(item any) error {
	l.n++
	if l.tw != nil {
		l.row(l.tw, item)
		// Flush now and then so a long listing shows progress; columns are
		// aligned within each block.
		if l.rowsIn++; l.rowsIn >= 500 {
			l.rowsIn = 0
			return l.tw.Flush()
		}
		return nil
	}
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	sep := ","
	if l.n == 1 {
		sep = ""
	}
	_, err = fmt.Fprintf(l.e.stdout, "%s\n  %s", sep, b)
	return err
}

// close ends the listing.
func (l *lister) close() error {
	if l.tw != nil {
		return l.tw.Flush()
	}
	end := "]\n"
	if l.n > 0 {
		end = "\n]\n"
	}
	_, err := fmt.Fprint(l.e.stdout, end)
	return err
}

// progress reports a count on stderr every step items.
func (e *env) progress(what string, n, step int) {
	if n > 0 && n%step == 0 {
		fmt.Fprintf(e.stderr, "... %d %s\n", n, what)
	}
}

// ts formats a time for tables.
func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// orDash returns s, or "-" when empty.
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
