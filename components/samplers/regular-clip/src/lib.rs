//! The built-in `regular-clip` sampler: [`frameflow_sampling::Strategy::RegularClip`] as a
//! `frameflow:sampler` component. Pure: it calls nothing it imports.

frameflow_sampling::export_sampler!(RegularClip);
