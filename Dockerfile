# syntax=docker/dockerfile:1
# Multi-stage build: a static passkeyd binary on a distroless base, as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/passkeyd ./cmd/passkeyd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/passkeyd /usr/local/bin/passkeyd
USER nonroot:nonroot
ENV PASSKEYD_LISTEN=0.0.0.0:8080 PASSKEYD_DATA_DIR=/var/lib/passkeyd
VOLUME /var/lib/passkeyd
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/passkeyd"]
CMD ["serve"]
