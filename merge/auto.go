package merge

// Auto holds recent score history per shard for the AutoChoice strategy.
type Auto struct{}
