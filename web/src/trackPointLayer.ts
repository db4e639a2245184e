/**
 * Tracks as point sprites: one vertex per track, the symbol cut from the icon atlas and turned
 * by course in the fragment shader. deck.gl's IconLayer draws an instanced quad per track;
 * software renderers (SwiftShader, llvmpipe: the browser on a VM or a remote desktop with no
 * GPU) pay a fixed cost per instance that made 20,000 tracks take a second per redraw. A
 * plain point list costs a fraction of that there and nothing on a GPU.
 */
import {
  type Accessor,
  type Color,
  type DefaultProps,
  Layer,
  type LayerProps,
  picking,
  type Position,
  project32,
  type UpdateParameters,
} from "@deck.gl/core";
import type { Texture } from "@luma.gl/core";
import { Model } from "@luma.gl/engine";
import type { ShaderModule } from "@luma.gl/shadertools";

const uniformBlock = /* glsl */ `\
layout(std140) uniform trackPointUniforms {
  vec4 frame;
  vec2 atlasSize;
  float sizePixels;
  float maxPointSize;
  float alphaCutoff;
} trackPoint;
`;

type TrackPointProps = {
  atlas: Texture;
  frame: [number, number, number, number];
  atlasSize: [number, number];
  sizePixels: number;
  maxPointSize: number;
  alphaCutoff: number;
};

const trackPointUniforms = {
  name: "trackPoint",
  vs: uniformBlock,
  fs: uniformBlock,
  uniformTypes: {
    frame: "vec4<f32>",
    atlasSize: "vec2<f32>",
    sizePixels: "f32",
    maxPointSize: "f32",
    alphaCutoff: "f32",
  },
} as const satisfies ShaderModule<TrackPointProps>;

const vs = /* glsl */ `\
#version 300 es
#define SHADER_NAME track-point-layer-vertex-shader

in vec3 positions;
in vec3 positions64Low;
in vec4 colors;
in float angles;

out vec4 vColor;
out vec2 vTurn;

void main(void) {
  geometry.worldPosition = positions;
  geometry.uv = vec2(0.0);
  geometry.pickingColor = picking_getPickingColorFromIndex(float(gl_VertexID));
  gl_Position = project_position_to_clipspace(positions, positions64Low, vec3(0.0), geometry.position);
  DECKGL_FILTER_GL_POSITION(gl_Position, geometry);
  gl_PointSize = min(trackPoint.sizePixels * project.devicePixelRatio, trackPoint.maxPointSize);
  float a = radians(angles);
  vTurn = vec2(cos(a), sin(a));
  vColor = vec4(colors.rgb, colors.a * layer.opacity);
  DECKGL_FILTER_COLOR(vColor, geometry);
}
`;

const fs = /* glsl */ `\
#version 300 es
#define SHADER_NAME track-point-layer-fragment-shader

precision highp float;

uniform sampler2D atlas;

in vec4 vColor;
in vec2 vTurn;

out vec4 fragColor;

void main(void) {
  // the sprite is drawn upright on screen (y down); sample the symbol turned by the angle,
  // counter-clockwise as deck.gl's getAngle
  vec2 q = gl_PointCoord - 0.5;
  vec2 uv = vec2(vTurn.x * q.x - vTurn.y * q.y, vTurn.y * q.x + vTurn.x * q.y) + 0.5;
  geometry.uv = uv;
  if (any(lessThan(uv, vec2(0.0))) || any(greaterThan(uv, vec2(1.0)))) discard;
  vec4 tex = texture(atlas, (trackPoint.frame.xy + uv * trackPoint.frame.zw) / trackPoint.atlasSize);
  float a = tex.a * vColor.a;
  if (a < trackPoint.alphaCutoff) discard;
  fragColor = vec4(vColor.rgb, a);
  DECKGL_FILTER_COLOR(fragColor, geometry);
}
`;

export type TrackPointLayerProps = _TrackPointLayerProps & LayerProps;

type _TrackPointLayerProps = {
  /** The icon atlas (drawn once, white symbols used as a mask) and the cell of this layer's symbol. */
  iconAtlas: HTMLCanvasElement;
  iconFrame: [number, number, number, number];
  /** Symbol size on screen, pixels. */
  size?: number;
  alphaCutoff?: number;
  getPosition?: Accessor<unknown, Position>;
  getColor?: Accessor<unknown, Color>;
  /** Degrees counter-clockwise from up, as deck.gl's IconLayer. */
  getAngle?: Accessor<unknown, number>;
};

const defaultProps: DefaultProps<TrackPointLayerProps> = {
  size: { type: "number", min: 0, value: 18 },
  alphaCutoff: { type: "number", min: 0, max: 1, value: 0.05 },
  getPosition: { type: "accessor", value: (x: unknown) => (x as { position: Position }).position },
  getColor: { type: "accessor", value: [255, 255, 255, 255] },
  getAngle: { type: "accessor", value: 0 },
};

/** Atlas textures by canvas: every track layer shares one upload of the (drawn-once) atlas. */
const textures = new WeakMap<HTMLCanvasElement, Texture>();

const pointLimits = new WeakMap<WebGL2RenderingContext, number>();

/** The largest point the device draws (WebGL2 promises only 1 px; real ones give 63 to 2048):
 * symbols are never drawn larger, rather than not at all. */
export function maxPointSize(gl: WebGL2RenderingContext): number {
  let m = pointLimits.get(gl);
  if (m === undefined) {
    const range = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE) as Float32Array | null;
    pointLimits.set(gl, (m = range ? range[1] : 1));
  }
  return m;
}

export class TrackPointLayer extends Layer<Required<_TrackPointLayerProps> & LayerProps> {
  static layerName = "TrackPointLayer";
  static defaultProps = defaultProps;

  declare state: { model?: Model };

  getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, picking, trackPointUniforms] });
  }

  initializeState(): void {
    this.getAttributeManager()!.add({
      positions: {
        size: 3,
        type: "float64",
        fp64: this.use64bitPositions(),
        accessor: "getPosition",
        stepMode: "vertex",
      },
      colors: { size: 4, type: "unorm8", accessor: "getColor", defaultValue: [255, 255, 255, 255], stepMode: "vertex" },
      angles: { size: 1, accessor: "getAngle", defaultValue: 0, stepMode: "vertex" },
    });
  }

  updateState(params: UpdateParameters<this>): void {
    super.updateState(params);
    if (params.changeFlags.extensionsChanged || !this.state.model) {
      this.state.model?.destroy();
      this.state.model = this.makeModel();
      this.getAttributeManager()!.invalidateAll();
    }
  }

  finalizeState(context: Parameters<Layer["finalizeState"]>[0]): void {
    super.finalizeState(context);
    this.state.model?.destroy();
  }

  draw(): void {
    const model = this.state.model!;
    const { iconAtlas, iconFrame, size, alphaCutoff } = this.props;
    const atlas = this.texture(iconAtlas);
    const gl = (this.context.device as unknown as { gl: WebGL2RenderingContext }).gl;
    model.setVertexCount(this.getNumInstances());
    model.shaderInputs.setProps({
      trackPoint: {
        atlas,
        frame: iconFrame,
        atlasSize: [atlas.width, atlas.height],
        sizePixels: size,
        maxPointSize: maxPointSize(gl),
        alphaCutoff,
      },
    });
    model.draw(this.context.renderPass);
  }

  private texture(canvas: HTMLCanvasElement): Texture {
    let t = textures.get(canvas);
    if (t && !t.destroyed) return t;
    const device = this.context.device;
    t = device.createTexture({
      format: "rgba8unorm",
      width: canvas.width,
      height: canvas.height,
      mipLevels: device.getMipLevelCount(canvas.width, canvas.height),
      sampler: {
        minFilter: "linear",
        magFilter: "linear",
        mipmapFilter: "linear",
        addressModeU: "clamp-to-edge",
        addressModeV: "clamp-to-edge",
      },
    });
    t.copyExternalImage({ image: canvas });
    t.generateMipmapsWebGL();
    textures.set(canvas, t);
    return t;
  }

  private makeModel(): Model {
    return new Model(this.context.device, {
      ...this.getShaders(),
      id: this.props.id,
      bufferLayout: this.getAttributeManager()!.getBufferLayouts({ isInstanced: false }),
      topology: "point-list",
      isInstanced: false,
      vertexCount: 0,
    });
  }
}
