// productpage: the page a user opens. It asks details and reviews (through
// its sidecar, forwarding the trace headers and end-user) and renders both.
// `?user=NAME` stands in for Bookinfo's login: it sends end-user: NAME on.
import { callService, envPort, forwardedHeaders, sendJson, startApp } from './app-server.mjs';

const port = envPort('PORT');
const outbound = envPort('OUTBOUND_PORT');

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function stars(rating) {
  if (rating === undefined) return '';
  if (rating.error !== undefined) return `<p class="ratings-error">${escapeHtml(rating.error)}</p>`;
  const count = Math.min(5, Math.max(0, Math.trunc(Number(rating.stars)) || 0)); // reviews' number, never a 1e9-long string
  const full = '★'.repeat(count) + '☆'.repeat(5 - count);
  return `<p class="stars" style="color:${rating.color === 'red' ? '#c00' : '#000'}" aria-label="${count} of 5 stars, ${escapeHtml(rating.color)}">${full}</p>`;
}

function page(user, details, reviews) {
  const facts = details.status === 200 && details.json !== undefined
    ? `<dl>${Object.entries(details.json).filter(([k]) => k !== 'id').map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`
    : `<p class="details-error">Sorry, product details are currently unavailable (${escapeHtml(details.status || details.error)}).</p>`;
  let reviewHtml;
  let servedBy = 'none';
  if (reviews.status === 200 && reviews.json !== undefined) {
    servedBy = reviews.json.podname;
    reviewHtml = reviews.json.reviews.map((r) => `<blockquote><p>${escapeHtml(r.text)}</p><small>${escapeHtml(r.reviewer)}</small>${stars(r.rating)}</blockquote>`).join('');
  } else {
    reviewHtml = `<p class="reviews-error">Sorry, product reviews are currently unavailable (${escapeHtml(reviews.status || reviews.error)}).</p>`;
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bookinfo: The Comedy of Errors</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}dt{font-weight:bold}blockquote{border-left:4px solid #ccc;margin:1rem 0;padding-left:1rem}.stars{font-size:1.4rem;margin:.2rem 0}</style>
</head><body>
<header><h1>The Comedy of Errors</h1><p>Signed in as: <strong id="user">${escapeHtml(user ?? 'nobody')}</strong></p></header>
<main>
<section aria-labelledby="d"><h2 id="d">Book details</h2>${facts}</section>
<section aria-labelledby="r"><h2 id="r">Book reviews</h2>
<p>Reviews served by: <strong id="reviews-version">${escapeHtml(servedBy)}</strong></p>
${reviewHtml}</section>
</main></body></html>
`;
}

startApp('productpage', port, async (req, res, url) => {
  if (url.pathname === '/') {
    res.writeHead(302, { location: '/productpage' });
    return res.end();
  }
  if (req.method !== 'GET' || (url.pathname !== '/productpage' && url.pathname !== '/api/v1/products/0')) {
    return sendJson(res, 404, { error: 'try GET /productpage' });
  }
  const headers = forwardedHeaders(req);
  const user = url.searchParams.get('user') ?? headers['end-user'];
  if (user !== null && user !== undefined && user !== '') headers['end-user'] = user;
  const [details, reviews] = await Promise.all([
    callService(outbound, 'details', '/details/0', headers),
    callService(outbound, 'reviews', '/reviews/0', headers),
  ]);
  if (url.pathname !== '/productpage') return sendJson(res, 200, { details: details.json ?? null, reviews: reviews.json ?? null });
  const body = page(user, details, reviews);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
