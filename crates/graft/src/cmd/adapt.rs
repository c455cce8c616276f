//! `graft adapt`: deep domain adaptation and parameter-transfer regularisers, alone or mixed
//! by a recipe.

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("graft adapt is not available in this build")
}
