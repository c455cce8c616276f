//! Instance transfer: weights for source samples so that the weighted source resembles the target.
