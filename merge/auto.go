package merge

// Auto holds recent score history per shard for the AutoChoice strategy.
type Auto struct{}

// Choice is the strategy AutoChoice applies now.
func (a *Auto) Choice() Strategy { return RRFZ }
