// Package api is regmo's HTTP layer: the Echo server generated from openapi.yaml, the request
// path in front of it (request ids, logging, validation against the contract) and the
// mapping of domain errors to problem responses. Handlers decode, call domain, encode.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

// Config is what the server needs.
type Config struct {
	DB  *gorm.DB
	Log *slog.Logger
	// Now overrides the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server serves the regmo API.
type Server struct {
	echo     *echo.Echo
	log      *slog.Logger
	db       *gorm.DB
	contract *contract
}

// New builds the server with its routes and request path.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ct, err := loadContract()
	if err != nil {
		return nil, err
	}
	inventory := domain.NewInventory(cfg.DB)
	if cfg.Now != nil {
		inventory = inventory.WithClock(cfg.Now)
	}
	s := &Server{echo: echo.New(), log: cfg.Log, db: cfg.DB, contract: ct}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// The order is the request path: id and log first so every answer is logged; then the
	// contract finds the operation and checks parameters before any body is read.
	e.Use(s.requestID, s.logRequests, s.recoverPanics, ct.matchRoute, ct.validateParams, ct.validateBody)
	h := &handler{
		inventory: inventory,
		ressorts:  domain.NewRessorts(cfg.DB),
		db:        cfg.DB,
	}
	oapi.RegisterHandlers(e, oapi.NewStrictHandler(h, nil))
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Ping checks that the database answers; readiness and start-up use it.
func ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("api: database handle: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return sqlDB.PingContext(ctx)
}
