// ratings: two reviewers' stars (Bookinfo's Node ratings service).
import { envPort, sendJson, startApp } from './app-server.mjs';

startApp('ratings', envPort('PORT'), (req, res, url) => {
  const m = /^\/ratings\/(\d+)$/.exec(url.pathname);
  if (req.method !== 'GET' || m === null) return sendJson(res, 404, { error: 'try GET /ratings/0' });
  sendJson(res, 200, { id: Number(m[1]), ratings: { Reviewer1: 5, Reviewer2: 4 } });
});
