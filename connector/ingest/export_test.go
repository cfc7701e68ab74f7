package ingest

// ShardsOf returns the shards of keys, as Do finds them.
func (g *GroupCommitter) ShardsOf(keys []string) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shards == nil {
		g.shards = make([]groupShard, max(g.Shards, 1))
	}
	return g.shardsOf(keys)
}
