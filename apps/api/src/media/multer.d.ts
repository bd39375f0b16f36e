// The parts of multer (a dependency of @nestjs/platform-express) that the media upload uses; no @types/multer is installed.
declare module 'multer' {
  import type { RequestHandler } from 'express';

  namespace multer {
    interface Options {
      dest?: string;
      limits?: { fileSize?: number; files?: number; fields?: number; parts?: number; fieldSize?: number };
    }
    interface Multer {
      single(field: string): RequestHandler;
    }
    interface File {
      fieldname: string;
      originalname: string;
      mimetype: string;
      size: number;
      destination: string;
      filename: string;
      path: string;
    }
    class MulterError extends Error {
      code: string;
      field?: string;
    }
  }
  function multer(options?: multer.Options): multer.Multer;
  export = multer;
}
