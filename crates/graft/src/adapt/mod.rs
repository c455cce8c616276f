//! Domain adaptation runs (`graft adapt`): the recipe that describes one. The run itself is
//! still driven by the executable; it moves here next, beside its recipe.

pub mod recipe;
