package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/bremen/regmo/api/oapi"
)

// answerBuffers hold the JSON of an answer until it is written: GET one, the service's most
// frequent request, would otherwise grow a new buffer for every answer (make bench's
// profile).
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledAnswer bounds the buffers kept: a rare large answer's buffer is left to the
// collector instead of being held by the pool.
const maxPooledAnswer = 64 << 10

// registerAnswer is GET one register's answer, written as the generated
// GetRegister200JSONResponse writes it (TestRegisterAnswerMatchesGenerated), into a pooled
// buffer.
type registerAnswer oapi.GetRegister200JSONResponse

// VisitGetRegisterResponse implements oapi.GetRegisterResponseObject.
func (a registerAnswer) VisitGetRegisterResponse(w http.ResponseWriter) error {
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledAnswer {
			buf.Reset()
			answerBuffers.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(a.Body); err != nil {
		return err
	}
	w.Header()["Content-Type"] = jsonContentType
	if a.Headers.ETag != nil {
		w.Header().Set("ETag", *a.Headers.ETag)
	}
	w.WriteHeader(http.StatusOK)
	_, err := buf.WriteTo(w)
	return err
}
