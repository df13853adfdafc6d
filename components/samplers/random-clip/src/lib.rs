//! The built-in `random-clip` sampler: [`frameflow_sampling::Strategy::RandomClip`] as a
//! `frameflow:sampler` component. Pure: it calls nothing it imports.

frameflow_sampling::export_sampler!(RandomClip);
