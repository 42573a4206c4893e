// Loaded by index.html before the app's bundle: on a job's page, ask for the job's JSON
// now, while the bundle downloads and compiles, rather than after React's first render.
// The app takes the answer from window.__weldPrefetch (api.ts, apiPrefetched). A file,
// not an inline script: the page's CSP admits only its own script files.
(function () {
  var m = /^\/jobs\/([0-7][0-9A-HJKMNP-TV-Z]{25})\/?$/.exec(location.pathname);
  if (!m || typeof fetch !== 'function') return;
  var path = '/api/v1/jobs/' + m[1];
  var token = null;
  try {
    token = sessionStorage.getItem('weld.token');
  } catch (e) {
    // storage refused: no token
  }
  var headers = { accept: 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  var entry = { path: path, token: token, response: undefined, settled: undefined, value: undefined };
  entry.response = fetch(path, { headers: headers }).then(function (r) {
    return r.text().then(function (text) {
      var answer = { status: r.status, ok: r.ok, text: text };
      // in before the app starts: the app draws it in its first render, and the JSON is
      // parsed here, while the main thread waits for the bundle anyway
      if (r.ok) {
        try {
          entry.value = JSON.parse(text);
        } catch (e) {
          // not JSON: the app says so (api.ts, parse)
        }
      }
      entry.settled = answer;
      return answer;
    });
  });
  // a failure is the app's to report (it asks again); not an unhandled rejection here
  entry.response.catch(function () {});
  window.__weldPrefetch = entry;
})();
