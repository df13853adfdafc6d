//! The built-in `uniform` sampler: [`frameflow_sampling::Strategy::Uniform`] as a
//! `frameflow:sampler` component. Pure: it calls nothing it imports.

frameflow_sampling::export_sampler!(Uniform);
