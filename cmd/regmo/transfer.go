package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const defaultServer = "http://127.0.0.1:8080"

// parseInterleaved parses flags that may come before or after the positional arguments
// (`regmo import FILE --dry-run`), which the flag package alone does not allow.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// client talks to a running regmo server with the token from REGMO_TOKEN.
type client struct {
	server string
	token  string
	http   *http.Client
}

func newClient(server string) (*client, error) {
	token := os.Getenv("REGMO_TOKEN")
	if token == "" {
		return nil, errors.New("REGMO_TOKEN is not set: issue a token (regmo token issue NAME) and export REGMO_TOKEN=<token>")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http(s) URL", server)
	}
	return &client{server: strings.TrimRight(server, "/"), token: token, http: &http.Client{}}, nil
}

func (c *client) do(ctx context.Context, method, path string, query url.Values, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.server+path+"?"+query.Encode(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req) //nolint:gosec // G704: the server is the one the operator names with --server
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is the server running? see --server)", method, c.server+path, err)
	}
	return resp, nil
}

// problem is the part of an RFC 9457 answer the CLI shows.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
		Index   *int   `json:"index"`
		Line    *int   `json:"line"`
		Sheet   string `json:"sheet"`
		Cell    string `json:"cell"`
		Kind    string `json:"kind"`
		Ressort string `json:"ressort"`
		Key     string `json:"key"`
	} `json:"errors"`
}

// reportProblem prints an error answer, one line per listed error, and returns exit code 1.
func reportProblem(resp *http.Response, stderr io.Writer) error {
	var p problem
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err := json.Unmarshal(data, &p); err != nil || p.Title == "" {
		fmt.Fprintf(stderr, "regmo: server answered %s\n", resp.Status)
		return exitError(1)
	}
	fmt.Fprintf(stderr, "regmo: %s (%d): %s\n", p.Title, p.Status, p.Detail)
	for _, e := range p.Errors {
		var where []string
		switch {
		case e.Sheet != "" && e.Cell != "":
			where = append(where, fmt.Sprintf("%s!%s", e.Sheet, e.Cell))
		case e.Sheet != "" && e.Line != nil:
			where = append(where, fmt.Sprintf("%s row %d", e.Sheet, *e.Line))
		case e.Line != nil:
			where = append(where, fmt.Sprintf("line %d", *e.Line))
		case e.Index != nil:
			list := "registers"
			if e.Kind == "onlinedienst" {
				list = "onlinedienste"
			}
			where = append(where, fmt.Sprintf("%s[%d]", list, *e.Index))
		}
		if e.Ressort != "" || e.Key != "" {
			where = append(where, e.Ressort+"/"+e.Key)
		}
		if e.Field != "" {
			where = append(where, e.Field)
		}
		fmt.Fprintf(stderr, "  %s: %s\n", strings.Join(where, " "), e.Message)
	}
	return exitError(1)
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "import FILE.json|.csv|.xlsx [--dry-run] [--mode replace --ressort CODE] [--kind registers|onlinedienste] [--server URL]"
	fs := newFlags("import", synopsis, stderr)
	dryRun := fs.Bool("dry-run", false, "validate and show what would happen, write nothing")
	mode := fs.String("mode", "upsert", "upsert, or replace: the file is the full inventory of --ressort")
	ressort := fs.String("ressort", "", "with --mode replace, the Ressort to replace")
	kind := fs.String("kind", "", "for CSV files: registers or onlinedienste")
	server := fs.String("server", defaultServer, "URL of the regmo server")
	files, err := parseInterleaved(fs, args)
	if err != nil || len(files) != 1 {
		fs.Usage()
		return exitError(2)
	}
	var contentType string
	switch strings.ToLower(filepath.Ext(files[0])) {
	case ".json":
		contentType = "application/json"
	case ".csv":
		contentType = "text/csv"
		if *kind == "" {
			fmt.Fprintln(stderr, "regmo: a CSV file needs --kind registers or --kind onlinedienste")
			return exitError(2)
		}
	case ".xlsx":
		// A workbook names its kinds by its sheets Register and Onlinedienste.
		contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		if *kind != "" {
			fmt.Fprintln(stderr, "regmo: --kind is for CSV files; a workbook's sheets Register and Onlinedienste say the kind")
			return exitError(2)
		}
	default:
		fmt.Fprintf(stderr, "regmo: %s: the file must end in .json, .csv or .xlsx\n", files[0])
		return exitError(2)
	}
	c, err := newClient(*server)
	if err != nil {
		return err
	}
	f, err := os.Open(files[0]) //nolint:gosec // G703: the file the operator names on the command line
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	q := url.Values{}
	if *dryRun {
		q.Set("dry_run", "true")
	}
	if *mode != "upsert" {
		q.Set("mode", *mode)
	}
	if *ressort != "" {
		q.Set("ressort", *ressort)
	}
	if contentType == "text/csv" {
		q.Set("kind", *kind)
	}
	var body io.Reader = f
	bar := newProgress(stderr, info.Size())
	if bar != nil {
		body = bar.reader(f)
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/import", q, contentType, body)
	bar.done()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return reportProblem(resp, stderr)
	}
	var res struct {
		DryRun    bool `json:"dry_run"`
		Created   int  `json:"created"`
		Updated   int  `json:"updated"`
		Unchanged int  `json:"unchanged"`
		Deleted   int  `json:"deleted"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("read the server's answer: %w", err)
	}
	what := "imported"
	if res.DryRun {
		what = "dry run, nothing written; would have"
	}
	fmt.Fprintf(stdout, "%s %s: %d created, %d updated, %d unchanged, %d deleted\n",
		files[0], what, res.Created, res.Updated, res.Unchanged, res.Deleted)
	return nil
}

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "export [--format json|csv|xlsx] [--dialect excel-de] [--kind registers|onlinedienste] [--ressort CODE]... [--server URL] > FILE"
	fs := newFlags("export", synopsis, stderr)
	format := fs.String("format", "json", "json, csv (needs --kind) or xlsx (an Excel workbook to edit and import back)")
	dialect := fs.String("dialect", "", "for csv: excel-de writes ; separators and a byte order mark for German Excel")
	kind := fs.String("kind", "", "only registers or only onlinedienste")
	var ressorts stringList
	fs.Var(&ressorts, "ressort", "only this Ressort (repeatable)")
	server := fs.String("server", defaultServer, "URL of the regmo server")
	if rest, err := parseInterleaved(fs, args); err != nil || len(rest) > 0 {
		fs.Usage()
		return exitError(2)
	}
	c, err := newClient(*server)
	if err != nil {
		return err
	}
	q := url.Values{"format": {*format}}
	if *dialect != "" {
		q.Set("dialect", *dialect)
	}
	if *kind != "" {
		q.Set("kind", *kind)
	}
	for _, r := range ressorts {
		q.Add("ressort", r)
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/export", q, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return reportProblem(resp, stderr)
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// progress draws an upload bar on a terminal; on anything else it is nil and silent, so
// that scripts and logs get only the summary.
type progress struct {
	w     io.Writer
	total int64
	mu    sync.Mutex
	sent  int64
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	f, ok := w.(*os.File)
	if !ok || total <= 0 {
		return nil
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progress{w: w, total: total}
}

func (p *progress) reader(r io.Reader) io.Reader { return &progressReader{r: r, p: p} }

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(int64(n))
	return n, err
}

func (p *progress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent += n
	if time.Since(p.last) < 100*time.Millisecond && p.sent < p.total {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := int(width * p.sent / p.total)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%%  %.1f / %.1f MiB", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		100*p.sent/p.total, float64(p.sent)/(1<<20), float64(p.total)/(1<<20))
	if p.sent >= p.total {
		fmt.Fprint(p.w, "  – the server checks and writes …")
	}
}

// done ends the bar's line.
func (p *progress) done() {
	if p == nil {
		return
	}
	fmt.Fprintln(p.w)
}
