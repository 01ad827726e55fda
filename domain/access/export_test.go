package access

// Live reports whether the cache is subscribed and may serve callers: the external tests wait
// for it before they measure what the cache answers.
func (c *CallerCache) Live() bool { return c.subscribed() }
