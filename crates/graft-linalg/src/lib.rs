//! graft-linalg
