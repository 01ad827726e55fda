package api

// OnHandler calls f with the operation of every request that reaches its handler. Set it
// before the first request.
func (s *Server) OnHandler(f func(operationID string)) { s.handlerHook = f }
