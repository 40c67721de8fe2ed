// Loads the WebAssembly core once (junction-core.js defines the JunctionCore factory).
'use strict';

let loading = null;

export function loadCore() {
  if (!loading) {
    if (typeof self.JunctionCore !== 'function') {
      return Promise.reject(new Error('the Junction core (junction-core.js) is not loaded'));
    }
    loading = self.JunctionCore().catch((e) => {
      loading = null;
      throw e;
    });
  }
  return loading;
}
