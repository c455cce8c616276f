//! A row-major dense matrix: one sample per row, the layout feature files and the CLI use.

use crate::error::{LinalgError, Result};
use faer::{MatMut, MatRef};

/// Dense `rows x cols` matrix of `f64`, row-major (sample `i` is `data[i*cols..(i+1)*cols]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major data; fails when `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        let expected = rows.checked_mul(cols).ok_or(LinalgError::Shape {
            input: "matrix",
            rows,
            cols,
            expected: usize::MAX,
            got: data.len(),
        })?;
        if data.len() != expected {
            return Err(LinalgError::Shape {
                input: "matrix",
                rows,
                cols,
                expected,
                got: data.len(),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    /// Widens row-major `f32` data (the precision features are stored in).
    pub fn from_f32(rows: usize, cols: usize, data: &[f32]) -> Result<Self> {
        Matrix::new(rows, cols, data.iter().map(|&v| f64::from(v)).collect())
    }

    /// Builds a matrix from equally long rows.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != cols {
                return Err(LinalgError::Shape {
                    input: "matrix rows",
                    rows: i + 1,
                    cols,
                    expected: (i + 1) * cols,
                    got: data.len() + r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Matrix::new(rows.len(), cols, data)
    }

    /// All-zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row-major values.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    pub fn into_data(self) -> Vec<f64> {
        self.data
    }

    /// Sample `i`. Panics when `i >= rows`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Entry `(i, j)`. Panics when out of bounds, like slice indexing.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(j < self.cols, "column {j} out of bounds ({})", self.cols);
        self.data[i * self.cols + j]
    }

    /// The rows listed in `idx`, in that order (fold splits, subsets).
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: idx.len(),
            cols: self.cols,
            data,
        }
    }

    /// Zero-copy faer view, for products and factorisations.
    pub fn as_faer(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.data, self.rows, self.cols)
    }

    pub fn as_faer_mut(&mut self) -> MatMut<'_, f64> {
        MatMut::from_row_major_slice_mut(&mut self.data, self.rows, self.cols)
    }

    /// Row-major copy of any faer matrix.
    pub fn from_faer(m: MatRef<'_, f64>) -> Matrix {
        let (rows, cols) = (m.nrows(), m.ncols());
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(m[(i, j)]);
            }
        }
        Matrix { rows, cols, data }
    }
}
