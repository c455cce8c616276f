//! Deep transfer: domain-adaptation losses and parameter regularisers for the training engine.
