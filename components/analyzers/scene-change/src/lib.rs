//! The built-in `scene_change` analyzer: [`frameflow_analysis::SceneChange`] as a
//! `frameflow:analyzer` component. Pure: it calls nothing it imports.

frameflow_analysis::export_analyzer!(SceneChange);
