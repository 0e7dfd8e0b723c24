// The letter form's proof of work: gives the ALTCHA widget (vendor/altcha, its "external"
// build, which bundles no worker) the SHA-256 worker from our own static files, so the page
// needs no blob: or data: worker under the Content-Security-Policy. Loaded as a module after
// altcha.min.js, which defines $altcha; the widget starts solving only once the reader is in
// the form. Without JavaScript the letter is still sent, and held for a closer look.
const script = document.querySelector("script[data-sha-worker]");
if (script && globalThis.$altcha) {
  globalThis.$altcha.algorithms.set("SHA-256", () => new Worker(script.dataset.shaWorker));
}
