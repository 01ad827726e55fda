package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
)

// maxUpload bounds a file imported through the web interface; larger files go through
// regmo import (64 MiB).
const maxUpload = 4 << 20

// The dry-run file waits in the session until it is confirmed.
const (
	keyImportData = "import_data"
	keyImportKind = "import_kind"
	keyImportName = "import_name"
)

type importData struct {
	Kind     string
	Name     string
	Sum      string
	Result   *transfer.ImportResult
	Errors   []transfer.ItemError
	Total    int
	Problem  string
	Done     bool
	Pending  bool
	Forbids  []string
	KindOpts []option
}

var importActionLabels = map[transfer.ImportAction]string{transfer.ImportCreated: "neu", transfer.ImportUpdated: "geändert",
	transfer.ImportUnchanged: "unverändert", transfer.ImportDeleted: "gelöscht"}

func importActionLabel(a transfer.ImportAction) string {
	return cmpMsg(importActionLabels[a], string(a))
}

func importKinds() []option {
	return []option{{"registers", "Register"}, {"onlinedienste", "Onlinedienste"}}
}

func (h *Handler) importForm(q *request) {
	if _, ok := q.allowWrite("importInventory", ""); !ok {
		return
	}
	q.page(http.StatusOK, "import", "Import", importData{Kind: "registers", KindOpts: importKinds()})
}

func importKind(s string) (domain.Kind, bool) {
	switch s {
	case "registers":
		return domain.KindRegister, true
	case "onlinedienste":
		return domain.KindOnlinedienst, true
	}
	return "", false
}

// importDryRun validates an uploaded CSV file and says what an import would do, writing
// nothing; the file stays in the session for the confirmation.
func (h *Handler) importDryRun(q *request) {
	write, ok := q.allowWrite("importInventory", "")
	if !ok {
		return
	}
	d := importData{Kind: q.r.PostFormValue("art"), KindOpts: importKinds()}
	kind, ok := importKind(d.Kind)
	if !ok {
		d.Problem = "Wählen Sie, ob die Datei Register oder Onlinedienste enthält."
		q.page(http.StatusUnprocessableEntity, "import", "Import", d)
		return
	}
	file, header, err := q.r.FormFile("datei")
	if err != nil {
		d.Problem = "Wählen Sie eine CSV-Datei aus."
		q.page(http.StatusUnprocessableEntity, "import", "Import", d)
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxUpload+1))
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	if len(data) > maxUpload {
		d.Problem = "Die Datei ist größer als 4 MiB. Größere Dateien importiert die Administration mit regmo import."
		q.page(http.StatusRequestEntityTooLarge, "import", "Import", d)
		return
	}
	d.Name = header.Filename
	status := h.runImport(q, write, kind, data, true, &d)
	if status == http.StatusOK {
		sum := sha256.Sum256(data)
		d.Sum = hex.EncodeToString(sum[:])
		d.Pending = true
		h.sessions.Put(q.ctx, keyImportData, data)
		h.sessions.Put(q.ctx, keyImportKind, d.Kind)
		h.sessions.Put(q.ctx, keyImportName, d.Name)
	}
	q.page(status, "import", "Import", d)
}

// importConfirm imports the file of the last dry run, if it is the one the page showed.
func (h *Handler) importConfirm(q *request) {
	write, ok := q.allowWrite("importInventory", "")
	if !ok {
		return
	}
	data := h.sessions.GetBytes(q.ctx, keyImportData)
	d := importData{Kind: h.sessions.GetString(q.ctx, keyImportKind), Name: h.sessions.GetString(q.ctx, keyImportName), KindOpts: importKinds()}
	sum := sha256.Sum256(data)
	kind, ok := importKind(d.Kind)
	if data == nil || !ok || hex.EncodeToString(sum[:]) != q.r.PostFormValue("sum") {
		d.Problem = "Es wartet keine geprüfte Datei auf die Bestätigung. Laden Sie die Datei noch einmal hoch."
		q.page(http.StatusConflict, "import", "Import", d)
		return
	}
	h.sessions.Remove(q.ctx, keyImportData)
	status := h.runImport(q, write, kind, data, false, &d)
	d.Done = status == http.StatusOK
	q.page(status, "import", "Import", d)
}

func (h *Handler) runImport(q *request, write domain.WriteScope, kind domain.Kind, data []byte, dry bool, d *importData) int {
	res, err := h.cfg.Transfer.Import(q.ctx, q.caller.User, write, h.cfg.CSVImport(bytes.NewReader(data), kind), transfer.ImportOptions{DryRun: dry})
	var ierr *transfer.ImportError
	var bad *transfer.BadImportError
	var forbidden *store.ForbiddenRessortsError
	var large *transfer.ImportTooLargeError
	switch {
	case err == nil:
		d.Result = &res
		return http.StatusOK
	case errors.As(err, &ierr):
		d.Errors, d.Total = ierr.Errors, ierr.Total
		return http.StatusUnprocessableEntity
	case errors.As(err, &bad):
		d.Problem = germanMessage(bad.Detail)
		return http.StatusUnprocessableEntity
	case errors.As(err, &forbidden):
		d.Problem = "Die Datei enthält Einträge von Ressorts, für die Sie nicht zuständig sind: " + strings.Join(forbidden.Ressorts, ", ") + ". Es wurde nichts importiert."
		return http.StatusForbidden
	case errors.As(err, &large):
		d.Problem = germanMessage(large.Detail)
		return http.StatusRequestEntityTooLarge
	}
	h.serverError(q.w, q.r, err)
	return 0
}
