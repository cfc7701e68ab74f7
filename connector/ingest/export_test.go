package ingest

// ShardsOf returns the shards of keys, as Do finds them.
func (g *GroupCommitter) ShardsOf(keys []string) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.shardsOf(keys)
}
