# sourced by the setup scripts
helper() {
  echo helper
}
