//! Feature-representation transfer: maps that bring source and target features together.
