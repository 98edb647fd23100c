// reviews: two reviews of the book, in three versions as in Bookinfo:
// v1 shows no stars, v2 black stars and v3 red ones (both ask ratings,
// through this app's sidecar, forwarding the trace headers).
import { callService, envPort, forwardedHeaders, sendJson, startApp } from './app-server.mjs';

const VERSION = process.env.VERSION ?? 'v1';
const STAR_COLOR = { v2: 'black', v3: 'red' }[VERSION];
const port = envPort('PORT');
const outbound = STAR_COLOR === undefined ? 0 : envPort('OUTBOUND_PORT');

const TEXTS = [
  ['Reviewer1', 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!'],
  ['Reviewer2', 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.'],
];

startApp(`reviews-${VERSION}`, port, async (req, res, url) => {
  const m = /^\/reviews\/(\d+)$/.exec(url.pathname);
  if (req.method !== 'GET' || m === null) return sendJson(res, 404, { error: 'try GET /reviews/0' });
  const id = Number(m[1]);
  let ratings = null;
  let ratingsError = null;
  if (STAR_COLOR !== undefined) {
    const r = await callService(outbound, 'ratings', `/ratings/${id}`, forwardedHeaders(req));
    if (r.status === 200 && r.json?.ratings !== undefined) ratings = r.json.ratings;
    else ratingsError = 'Ratings service is currently unavailable';
  }
  const reviews = TEXTS.map(([reviewer, text]) => {
    const review = { reviewer, text };
    if (ratings !== null) review.rating = { stars: ratings[reviewer] ?? 0, color: STAR_COLOR };
    else if (ratingsError !== null) review.rating = { error: ratingsError };
    return review;
  });
  sendJson(res, 200, { id, podname: `reviews-${VERSION}`, clustername: 'null', reviews });
});
